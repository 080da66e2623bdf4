// A progress bar on stderr (cli-progress): the share of the input file read
// (which runs ahead of the model by one read buffer and one batch), sequences
// done and their rate. Shown when stderr is a terminal, or always
// with --progress (then, on a pipe or a log file, one line every 2 seconds).
import { SingleBar } from 'cli-progress';
import type { Writable } from 'node:stream';

export interface Progress {
  update(sequences: number, bytesRead: number): void;
  stop(): void;
}

const OFF: Progress = { update: () => {}, stop: () => {} };

/**
 * totalBytes: the input's size (undefined for stdin: no bar, only counts).
 * show: true forces it on, false off, undefined shows it on a terminal only.
 */
export function createProgress(stream: Writable, totalBytes: number | undefined, show: boolean | undefined): Progress {
  const isTTY = (stream as { isTTY?: boolean }).isTTY === true;
  if (!(show ?? isTTY)) return OFF;
  const known = totalBytes !== undefined && totalBytes > 0;
  const bar = new SingleBar({
    stream: stream as NodeJS.WritableStream,
    format: known
      ? '{bar} {percentage}% | {sequences} sequences | {rate} seq/s | ETA {remaining}'
      : '{sequences} sequences | {rate} seq/s | {duration_formatted}',
    noTTYOutput: !isTTY,
  });
  const start = Date.now();
  // Our own ETA, from the share of the file read so far: cli-progress's own
  // prints 'NULL' (as 'LL') once the reads reach the end before the model does.
  const payload = (sequences: number, fraction: number) => {
    const ms = Math.max(1, Date.now() - start);
    const eta = fraction > 0 && fraction < 1 ? Math.round((ms * (1 - fraction)) / fraction / 1000) : 0;
    return { sequences, rate: Math.round((sequences * 1000) / ms), remaining: eta >= 60 ? `${Math.floor(eta / 60)}m${String(eta % 60).padStart(2, '0')}s` : `${eta}s` };
  };
  bar.start(known ? totalBytes : 1, 0, payload(0, 0));
  return {
    update: (sequences, bytesRead) => {
      const read = known ? Math.min(bytesRead, totalBytes) : 0;
      bar.update(read, payload(sequences, known ? read / totalBytes : 0));
    },
    stop: () => bar.stop(),
  };
}
