/** Commander collector: `-c` may repeat, later files override earlier ones. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}
