/**
 * The benchmark's one table: a row per engine × system × load. `npm run bench` fills it with the reaction
 * levels (bench/latency.ts); other measurements add rows of the same shape (see `EngineBench` in engines.ts).
 */

/** Reaction p99 under which a level counts as served: the active-caller ceiling is the highest such level. */
export const CEILING_P99_MS = 500;

export interface BenchRow {
  /** `dev`, `cluster`, or `-` for a system without Temporal. */
  engine: string;
  system: string;
  /** What load the row is at, e.g. `200 callers` or `5k sessions`. */
  load: string;
  /** Concurrent callers, for rows that count towards the active-caller ceiling. */
  callers?: number;
  /** Latency samples (ms) behind p50 and p99. */
  samples: number;
  p50: number;
  p99: number;
  /** Call start (first event → first command) p99, ms. */
  startP99?: number;
  commandsPerSecond?: number;
  /** CPU ms per command of each process (with its children, e.g. PostgreSQL's backends), by name. */
  cpuMsPerCommand?: Record<string, number>;
  historyEventsPerReaction?: number;
  /** Cores busy with processes outside the benchmark meanwhile (other users' load). */
  otherCores?: number;
  errors: string[];
}

const ms = (value: number) => (value < 10 ? value.toFixed(1) : value.toFixed(0));
const optional = (value: number | undefined, format: (value: number) => string) =>
  value === undefined || Number.isNaN(value) ? '-' : format(value);

/** The p99 of the floor row on the same engine and load, for durable-calls' "× floor" column. */
function floorRatio(row: BenchRow, rows: BenchRow[]): number | undefined {
  if (row.system !== 'durable-calls') return undefined;
  const floor = rows.find((r) => r.system === 'floor' && r.engine === row.engine && r.load === row.load);
  return floor ? row.p99 / floor.p99 : undefined;
}

/** CPU columns in the order an event travels; processes not named here follow in the order they come. */
const PROCESS_ORDER = ['bench', 'handler', 'gateway', 'worker'];

export function formatTable(rows: BenchRow[]): string {
  const rank = (name: string) => (PROCESS_ORDER.includes(name) ? PROCESS_ORDER.indexOf(name) : PROCESS_ORDER.length);
  const processes = [...new Set(rows.flatMap((row) => Object.keys(row.cpuMsPerCommand ?? {})))].sort(
    (a, b) => rank(a) - rank(b),
  );
  const columns: { header: string; width: number; cell: (row: BenchRow) => string }[] = [
    { header: 'engine', width: -8, cell: (r) => r.engine },
    { header: 'system', width: -14, cell: (r) => r.system },
    { header: 'load', width: -12, cell: (r) => r.load },
    { header: 'n', width: 6, cell: (r) => String(r.samples) },
    { header: 'p50', width: 7, cell: (r) => ms(r.p50) },
    { header: 'p99', width: 7, cell: (r) => ms(r.p99) },
    { header: '×floor', width: 7, cell: (r) => optional(floorRatio(r, rows), (v) => v.toFixed(2)) },
    { header: 'start99', width: 8, cell: (r) => optional(r.startP99, ms) },
    { header: 'cmds/s', width: 7, cell: (r) => optional(r.commandsPerSecond, (v) => v.toFixed(0)) },
    { header: 'ev/r', width: 6, cell: (r) => optional(r.historyEventsPerReaction, (v) => v.toFixed(1)) },
    ...processes.map((name) => ({
      header: name,
      width: Math.max(name.length + 1, 6),
      cell: (r: BenchRow) => optional(r.cpuMsPerCommand?.[name], (v) => v.toFixed(1)),
    })),
    {
      header: 'total',
      width: 7,
      cell: (r) =>
        optional(r.cpuMsPerCommand && Object.values(r.cpuMsPerCommand).reduce((sum, v) => sum + v, 0), (v) =>
          v.toFixed(1),
        ),
    },
    { header: 'other', width: 6, cell: (r) => optional(r.otherCores, (v) => v.toFixed(2)) },
    { header: '  errors', width: 0, cell: (r) => `  ${r.errors.length}${r.errors.length ? ` (${r.errors[0]})` : ''}` },
  ];
  const line = (cells: (column: (typeof columns)[number]) => string) =>
    columns
      .map((column) => {
        const text = cells(column);
        return column.width < 0 ? text.padEnd(-column.width) : text.padStart(column.width);
      })
      .join('')
      .trimEnd();
  const body = rows.map((row, i) => {
    const text = line((column) => column.cell(row));
    const previous = rows[i - 1];
    const newGroup = previous && (previous.engine !== row.engine || previous.system !== row.system);
    return newGroup ? `\n${text}` : text;
  });
  return [line((column) => column.header), ...body].join('\n');
}

interface Ceiling {
  /** Highest level served, 0 when none was. */
  callers: number;
  /** False when every level was served: the real ceiling is higher. */
  reached: boolean;
}

/** The highest level of callers served with p99 < CEILING_P99_MS and no errors. */
function ceiling(group: BenchRow[]): Ceiling {
  const served = group.filter((r) => r.p99 < CEILING_P99_MS && r.errors.length === 0).map((r) => r.callers!);
  const callers = served.length ? Math.max(...served) : 0;
  return { callers, reached: callers < Math.max(...group.map((r) => r.callers!)) };
}

/** Per engine and system, the active-caller ceiling; per system, the cluster's ceiling over the dev server's. */
export function formatCeilings(rows: BenchRow[]): string {
  const groups = new Map<string, BenchRow[]>();
  for (const row of rows.filter((r) => r.callers !== undefined && r.engine !== '-')) {
    const key = `${row.engine} ${row.system}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const ceilings = new Map([...groups].map(([key, group]) => [key, ceiling(group)]));
  const lines = [...ceilings].map(
    ([key, { callers, reached }]) =>
      `  ${key.padEnd(24)}${callers === 0 ? 'none of the levels' : reached ? `${callers} callers` : `≥ ${callers} callers (every level served)`}`,
  );
  const ratios = [...new Set(rows.map((r) => r.system))].flatMap((system) => {
    const dev = ceilings.get(`dev ${system}`);
    const cluster = ceilings.get(`cluster ${system}`);
    if (!dev?.callers || !cluster?.callers) return [];
    const ratio = `${(cluster.callers / dev.callers).toFixed(1)}×`;
    if (!dev.reached)
      return [`  ${system}: cluster / dev unknown (the dev server served every level: add larger ones)`];
    return [`  ${system}: cluster / dev ${cluster.reached ? ratio : `≥ ${ratio}`}`];
  });
  return [
    `Active-caller ceiling (highest level with reaction p99 < ${CEILING_P99_MS} ms and no errors):`,
    ...lines,
    ...ratios,
  ].join('\n');
}
