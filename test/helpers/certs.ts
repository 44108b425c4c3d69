import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'

/** A self-signed certificate for localhost / 127.0.0.1, as PEM, with its SHA-256 fingerprint. */
export interface TestCert {
  readonly cert: Buffer
  readonly key: Buffer
  readonly fingerprint: string
}

/**
 * Generates a fresh self-signed P-256 certificate with openssl (Node can parse certificates but
 * not issue them). Each call gives a different certificate, so reload tests can tell them apart.
 */
export function selfSignedCert(commonName = 'localhost'): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cert-'))
  try {
    const keyPath = join(dir, 'key.pem')
    const certPath = join(dir, 'cert.pem')
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', `/CN=${commonName}`,
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'pipe' },
    )
    const cert = readFileSync(certPath)
    return { cert, key: readFileSync(keyPath), fingerprint: new X509Certificate(cert).fingerprint256 }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
