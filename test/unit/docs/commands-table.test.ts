import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { sharedSpecsDir } from '../../../src/simulator/spec-files';

/**
 * docs/commands.md answers, for every command of the carriers' specs, how a user reaches it: a flow operation,
 * a REST route (live control, calls, faxes), done automatically, or Unsupported with the reason. The commands
 * are read from the specs themselves, so a command the specs gain needs a row before this passes. A row saying
 * "adapter only", naming no route, or still marked `TODO(...)` (work of a branch not merged yet) fails.
 */

type Json = Record<string, unknown>;
const specs = sharedSpecsDir();
const telnyx = JSON.parse(readFileSync(join(specs, 'telnyx-call-control.openapi.json'), 'utf8')) as { paths: Json };
const signalwire = parse(readFileSync(join(specs, 'signalwire-calling.openapi.yaml'), 'utf8')) as {
  components: { schemas: Record<string, Json> };
};
const jambonz = parse(readFileSync(join(specs, 'jambonz-api.swagger.yaml'), 'utf8')) as {
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json> };
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const operations = (paths: Json, keep: (path: string) => boolean): string[] =>
  Object.entries(paths)
    .filter(([path]) => keep(path))
    .flatMap(([path, item]) =>
      Object.keys(item as Json)
        .filter((method) => METHODS.includes(method))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );

const CALL_ACTION = '/calls/{call_control_id}/actions/';
/** Telnyx Call Control: every `/calls/{id}/actions/*` by its action name, and the other `/calls*` operations. */
const telnyxCallCommands = [
  ...Object.keys(telnyx.paths)
    .filter((path) => path.startsWith(CALL_ACTION))
    .map((path) => path.slice(CALL_ACTION.length)),
  ...operations(telnyx.paths, (path) => path.startsWith('/calls') && !path.startsWith(CALL_ACTION)),
];
const telnyxFaxCommands = operations(telnyx.paths, (path) => path.startsWith('/faxes'));
/**
 * The spec snapshot has no `/conferences*`: Telnyx's conference commands (API reference, "Conference Commands"),
 * plus any the spec gains.
 */
const telnyxConferenceCommands = [
  'POST /conferences',
  ...['join', 'leave', 'mute', 'unmute', 'hold', 'unhold', 'update'].map((a) => `conferences/actions/${a}`),
  ...operations(telnyx.paths, (path) => path.startsWith('/conferences')),
];
/** SignalWire: the `command` of every Calling API request body, and the SWML methods that fax or join conferences. */
const signalwireCommands = [
  ...Object.values(signalwire.components.schemas).flatMap((schema) => {
    const command = (schema.properties as Record<string, { enum?: string[]; const?: string }> | undefined)?.command;
    return command?.enum ?? (command?.const ? [command.const] : []);
  }),
  'send_fax',
  'receive_fax',
  'join_conference',
];

function resolved(schema: Json): Json {
  const ref = schema.$ref;
  return typeof ref === 'string' ? jambonz.components.schemas[ref.split('/').pop()!] : schema;
}
const UPDATE_CALL = '/Accounts/{AccountSid}/Calls/{CallSid}';
const updateBody = jambonz.paths[UPDATE_CALL].post.requestBody as { content: Record<string, { schema: Json }> };
/** jambonz: every body field of Live Call Control, `dtmf` (sent, not in the stale swagger), and creating a call. */
const jambonzCommands = [
  ...Object.keys(resolved(updateBody.content['application/json'].schema).properties as Json),
  'dtmf',
  'POST /Accounts/{AccountSid}/Calls',
];

/** The document's tables: section heading → command (first backticked text of the row) → how it is reached. */
function readTables(): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let rows = new Map<string, string>();
  for (const line of readFileSync(join(__dirname, '../../../docs/commands.md'), 'utf8').split('\n')) {
    const heading = /^## (.+)$/.exec(line);
    if (heading) sections.set(heading[1], (rows = new Map()));
    const row = /^\| `([^`]+)`[^|]* \| (.+) \|$/.exec(line);
    if (row) rows.set(row[1], row[2]);
  }
  return sections;
}

const SECTIONS: Record<string, string[]> = {
  'Telnyx Call Control': telnyxCallCommands,
  'Telnyx Programmable Fax': telnyxFaxCommands,
  'Telnyx conferences': telnyxConferenceCommands,
  'SignalWire Calling API': signalwireCommands,
  'jambonz Live Call Control': jambonzCommands,
};

/** A flow operation, a gateway route, or a stated automatic use or refusal with its reason. */
const NAMES_A_ROUTE =
  /flow `call\.[A-Za-z]+\([^`]*\)`|live control `POST \/calls\/:id\/actions\/[a-z-]+`|REST `(GET|POST|DELETE) \/[^`]+`|^Automatic: .{15,}|^Unsupported: .{15,}/;

describe('docs/commands.md: every carrier command and how a user reaches it', () => {
  const tables = readTables();

  it('reads the commands from the specs', () => {
    expect(telnyxCallCommands.length).toBeGreaterThanOrEqual(40);
    expect(telnyxCallCommands).toEqual(expect.arrayContaining(['answer', 'POST /calls']));
    expect(telnyxFaxCommands).toEqual(expect.arrayContaining(['POST /faxes', 'POST /faxes/{id}/actions/refresh']));
    expect(signalwireCommands.length).toBeGreaterThanOrEqual(42);
    expect(signalwireCommands).toEqual(expect.arrayContaining(['calling.play', 'dial', 'update']));
    expect(jambonzCommands).toEqual(expect.arrayContaining(['call_hook', 'whisper', 'conf_hold_status']));
  });

  it.each(Object.entries(SECTIONS))('%s: a row for every command', (section, commands) => {
    const rows = tables.get(section);
    expect(rows).toBeDefined();
    expect(commands.filter((command) => !rows!.has(command))).toEqual([]);
  });

  it('every row names how it is reached, and none says "adapter only"', () => {
    const bad = [...tables].flatMap(([section, rows]) =>
      [...rows]
        .filter(([, how]) => /adapter only/i.test(how) || !NAMES_A_ROUTE.test(how))
        .map(([command, how]) => `${section} / ${command}: ${how}`),
    );
    expect(bad).toEqual([]);
  });

  it('no row waits for a branch not merged yet (TODO(h-...)): fill it in at the merge', () => {
    const pending = [...tables].flatMap(([section, rows]) =>
      [...rows].filter(([, how]) => how.includes('TODO(')).map(([command, how]) => `${section} / ${command}: ${how}`),
    );
    expect(pending).toEqual([]);
  });
});
