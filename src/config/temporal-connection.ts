import { readFileSync } from 'node:fs';
import { ConfigError, optional, type Env } from './env';

/**
 * How this service reaches Temporal: plaintext to a local or in-cluster server, or TLS (a client certificate and/or
 * an API key) to Temporal Cloud or a self-hosted server behind TLS. `temporalConnectionOptions` is the one place
 * the options of a connection are built; the gateway's `Connection`, the worker's `NativeConnection` and the
 * scripts all connect with what it returns.
 */

/** PEM file paths and names, as configured; the files are read when a connection is built. */
export interface TemporalTls {
  /** TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY: the client certificate (mTLS, Temporal Cloud's certificate auth). */
  clientCert?: { certPath: string; keyPath: string };
  /** TEMPORAL_TLS_CA: the CA of the server's certificate. Unset: the system's roots, right for Temporal Cloud. */
  caPath?: string;
  /** TEMPORAL_TLS_SERVER_NAME: the name the server's certificate carries, when it is not the address's host. */
  serverName?: string;
}

export interface TemporalAuth {
  /** Set: connect with TLS. Any TLS setting or an API key turns it on. */
  tls?: TemporalTls;
  /** TEMPORAL_API_KEY: sent as a bearer token on every call (Temporal Cloud API keys). */
  apiKey?: string;
}

/** Reads the TLS and API key settings; `address` is TEMPORAL_ADDRESS (the embedded dev server speaks plaintext). */
export function readTemporalAuth(env: Env, address: string | undefined): TemporalAuth {
  const certPath = optional(env, 'TEMPORAL_TLS_CERT');
  const keyPath = optional(env, 'TEMPORAL_TLS_KEY');
  const caPath = optional(env, 'TEMPORAL_TLS_CA');
  const serverName = optional(env, 'TEMPORAL_TLS_SERVER_NAME');
  const apiKey = optional(env, 'TEMPORAL_API_KEY');
  if (certPath && !keyPath) {
    throw new ConfigError(
      'TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_KEY is not: mTLS needs the certificate and its key',
    );
  }
  if (keyPath && !certPath) {
    throw new ConfigError(
      'TEMPORAL_TLS_KEY is set but TEMPORAL_TLS_CERT is not: mTLS needs the certificate and its key',
    );
  }
  if (!certPath && !caPath && !serverName && !apiKey) return {};
  if (!address) {
    throw new ConfigError(
      'TEMPORAL_TLS_* and TEMPORAL_API_KEY need TEMPORAL_ADDRESS (the embedded dev server takes plaintext only)',
    );
  }
  const tls: TemporalTls = {
    ...(certPath && keyPath && { clientCert: { certPath, keyPath } }),
    ...(caPath && { caPath }),
    ...(serverName && { serverName }),
  };
  return { tls, ...(apiKey && { apiKey }) };
}

/**
 * What `Connection.connect`/`Connection.lazy` (client) and `NativeConnection.connect` (worker) take. Declared here
 * rather than imported so the config stays free of the SDK; both SDK option types accept it as it is.
 */
export interface TemporalConnectionOptions {
  address: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
}

type TemporalSettings = TemporalAuth & { address?: string; port: number };

/** The options to connect with: the configured address (or the local dev server's), TLS files read, the API key. */
export function temporalConnectionOptions(temporal: TemporalSettings): TemporalConnectionOptions {
  const address = temporal.address ?? `127.0.0.1:${temporal.port}`;
  const { tls, apiKey } = temporal;
  if (!tls) return { address };
  const clientCert = tls.clientCert;
  return {
    address,
    tls: {
      ...(tls.serverName && { serverNameOverride: tls.serverName }),
      ...(tls.caPath && { serverRootCACertificate: readPem('TEMPORAL_TLS_CA', tls.caPath, 'CERTIFICATE') }),
      ...(clientCert && {
        clientCertPair: {
          crt: readPem('TEMPORAL_TLS_CERT', clientCert.certPath, 'CERTIFICATE'),
          key: readPem('TEMPORAL_TLS_KEY', clientCert.keyPath, 'PRIVATE KEY'),
        },
      }),
    },
    ...(apiKey && { apiKey }),
  };
}

/** A PEM file's bytes; a missing file, or a key given where the certificate belongs, fails here with the variable's name. */
function readPem(variable: string, file: string, label: 'CERTIFICATE' | 'PRIVATE KEY'): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${file}: ${(err as Error).message}`);
  }
  // "-----BEGIN CERTIFICATE-----", "-----BEGIN PRIVATE KEY-----", "-----BEGIN EC PRIVATE KEY-----", ...
  if (!new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(content.toString('latin1'))) {
    throw new ConfigError(`${variable}: ${file} is not a PEM file with a ${label.toLowerCase()}`);
  }
  return content;
}
