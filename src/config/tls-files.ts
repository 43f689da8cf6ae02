import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { ConfigError, type TlsFiles } from './config.js';

/** The PEM contents the HTTPS server is built with. */
export interface TlsCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
}

function readPem(variable: string, file: string, check: (pem: Buffer) => unknown, what: string): Buffer {
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${variable}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    check(pem);
  } catch (error) {
    throw new ConfigError(`${variable}: ${file} is not ${what} (${(error as Error).message})`);
  }
  return pem;
}

/**
 * Reads SEGUE_TLS_CERT and SEGUE_TLS_KEY once at start-up; a missing or unreadable file, one
 * that is not PEM, or a key that does not belong to the certificate stops start-up naming them.
 */
export function readTlsFiles(files: TlsFiles): TlsCredentials {
  const cert = readPem('SEGUE_TLS_CERT', files.certFile, (pem) => new X509Certificate(pem), 'a PEM certificate');
  const key = readPem('SEGUE_TLS_KEY', files.keyFile, (pem) => createPrivateKey(pem), 'a PEM private key');
  // The first certificate of the file is the server's own; the rest is its chain.
  if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
    throw new ConfigError(`SEGUE_TLS_KEY (${files.keyFile}) is not the private key of the certificate in SEGUE_TLS_CERT (${files.certFile})`);
  }
  return { cert, key };
}
