// The certificate and key of the HTTPS/WSS listeners: read from their PEM files and checked
// (tls.createSecureContext parses both and checks that the key matches the certificate) before
// any worker gets them, at start and on SIGHUP.

import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { TlsConfig } from '../config/config.ts';
import type { TlsCredentials } from './messages.ts';

/** The PEM texts, or an Error naming the file and what is wrong with it. */
export function readTlsCredentials(tls: TlsConfig): TlsCredentials {
  const read = (what: string, file: string | null): string => {
    if (file === null) throw new Error(`tls.${what} is not set`);
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`tls.${what} ${file}: can't read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  };
  const credentials = { cert: read('cert', tls.cert), key: read('key', tls.key) };
  try {
    createSecureContext(credentials);
  } catch (err) {
    throw new Error(`tls.cert ${tls.cert} / tls.key ${tls.key}: not a usable certificate and key: ${(err as Error).message}`, { cause: err });
  }
  return credentials;
}
