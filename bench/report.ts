// Bench output: a table on stdout (or JSON with --json), progress on stderr.
export interface Row {
  bench: string;
  case: string;
  germ: string;
  baseline: string;
  ratio: number | null;
  baselineName: string;
}

export const rows: Row[] = [];

export function record(row: Row): void {
  rows.push(row);
  if (!process.argv.includes('--json'))
    process.stdout.write(`${row.bench.padEnd(10)} ${row.case.padEnd(28)} germ ${row.germ.padStart(16)}   ` +
      `${row.baselineName} ${row.baseline.padStart(14)}   ratio ${row.ratio === null ? 'n/a' : row.ratio.toFixed(2) + 'x'}\n`);
}

export function progress(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}
