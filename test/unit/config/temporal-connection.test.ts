import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ConfigError, loadConfig, temporalConnectionOptions } from '../../../src/config';

/** TEMPORAL_TLS_* and TEMPORAL_API_KEY: read and checked by loadConfig, turned into connection options by one function. */

// A test-only CA and client certificate (test/fixtures/tls/README.md): the client SDK parses them when it connects.
const TLS_FIXTURES = path.resolve(__dirname, '..', '..', 'fixtures', 'tls');
const files = {
  cert: path.join(TLS_FIXTURES, 'client.pem'),
  key: path.join(TLS_FIXTURES, 'client.key'),
  ca: path.join(TLS_FIXTURES, 'ca.pem'),
};

const CLOUD = 'my-ns.a1b2c.tmprl.cloud:7233';

describe('Temporal connection settings', () => {
  it('connects in plaintext to the local dev server when nothing is set', () => {
    const config = loadConfig({ TEMPORAL_PORT: '7299' });
    expect(config.temporal).not.toHaveProperty('tls');
    expect(config.temporal).not.toHaveProperty('apiKey');
    expect(temporalConnectionOptions(config.temporal)).toEqual({ address: '127.0.0.1:7299' });
    expect(temporalConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }).temporal)).toEqual({
      address: 'temporal:7233',
    });
  });

  it('reads a client certificate, its key, a CA and a server name into mTLS options', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: CLOUD,
      TEMPORAL_NAMESPACE: 'my-ns.a1b2c',
      TEMPORAL_TLS_CERT: files.cert,
      TEMPORAL_TLS_KEY: files.key,
      TEMPORAL_TLS_CA: files.ca,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    expect(config.temporal).toMatchObject({
      namespace: 'my-ns.a1b2c',
      tls: {
        clientCert: { certPath: files.cert, keyPath: files.key },
        caPath: files.ca,
        serverName: 'temporal.internal',
      },
    });
    const options = temporalConnectionOptions(config.temporal);
    expect(options).toEqual({
      address: CLOUD,
      tls: {
        serverNameOverride: 'temporal.internal',
        serverRootCACertificate: readFileSync(files.ca),
        clientCertPair: { crt: readFileSync(files.cert), key: readFileSync(files.key) },
      },
    });
    // The client SDK takes them as they are and parses the PEM files (the worker's NativeConnection has the same
    // fields; tsc checks both call sites).
    const connection = Connection.lazy(options);
    void connection.close();
  });

  it('turns TLS on with the system roots for an API key alone (Temporal Cloud API key auth)', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: CLOUD, TEMPORAL_API_KEY: 'cloud-key' });
    expect(config.temporal).toMatchObject({ tls: {}, apiKey: 'cloud-key' });
    expect(temporalConnectionOptions(config.temporal)).toEqual({ address: CLOUD, tls: {}, apiKey: 'cloud-key' });
  });

  it.each([
    [{ TEMPORAL_TLS_CERT: files.cert }, 'TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_KEY is not'],
    [{ TEMPORAL_TLS_KEY: files.key }, 'TEMPORAL_TLS_KEY is set but TEMPORAL_TLS_CERT is not'],
  ])('refuses half a client certificate: %j', (env, message) => {
    expect(() => loadConfig({ TEMPORAL_ADDRESS: CLOUD, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ TEMPORAL_ADDRESS: CLOUD, ...env })).toThrow(message);
  });

  it('refuses TLS settings without TEMPORAL_ADDRESS: the embedded dev server takes plaintext only', () => {
    expect(() => loadConfig({ TEMPORAL_API_KEY: 'cloud-key' })).toThrow(/need TEMPORAL_ADDRESS/);
  });

  it('names the variable and the file when a PEM file is missing or holds the wrong thing', () => {
    const build = (env: Record<string, string>) =>
      temporalConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: CLOUD, ...env }).temporal);
    const missing = path.join(TLS_FIXTURES, 'nope.pem');
    expect(() => build({ TEMPORAL_TLS_CA: missing })).toThrow(`TEMPORAL_TLS_CA: cannot read ${missing}`);
    // Certificate and key swapped.
    expect(() => build({ TEMPORAL_TLS_CERT: files.key, TEMPORAL_TLS_KEY: files.cert })).toThrow(
      `TEMPORAL_TLS_CERT: ${files.key} is not a PEM file with a certificate`,
    );
    expect(() => build({ TEMPORAL_TLS_CERT: files.cert, TEMPORAL_TLS_KEY: files.ca })).toThrow(
      `TEMPORAL_TLS_KEY: ${files.ca} is not a PEM file with a private key`,
    );
  });
});
