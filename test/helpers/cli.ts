// Runs `germ <args>` in process through main(), collecting what it writes.
import { Readable, Writable } from 'node:stream';
import { main } from '../../lib/cli/main';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

export async function germ(args: string[], stdin: Readable = Readable.from([])): Promise<CliRun> {
  const out = collector(), err = collector();
  const code = await main(args, { stdout: out.stream, stderr: err.stream, stdin });
  return { code, stdout: out.text(), stderr: err.text() };
}
