// The `germ` command line: argument parsing (commander) and exit codes.
//   0  success
//   1  the work failed: printed as `germ: <message> (<code>)`, no stack trace
//   2  a usage error: unknown option, missing argument, bad option value
// main() takes the arguments after `germ` and returns the exit code, writing
// only to the streams it is given, so tests call it in process.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { GermError } from '../errors';
import { type CliIO, type RunOptions, UsageError, classifyCommand, embedCommand, infoCommand } from './commands';
import { INPUT_FORMATS } from './input';

// esbuild inlines this when bundling; under vitest it is read from the checkout.
const { version } = require('../../package.json') as { version: string };

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

function modelOptions(cmd: Command, json: string): Command {
  return cmd
    .option('--device <device>', "'cpu' or 'cuda:N' (default: the first GPU, else the CPU)")
    .addOption(new Option('--dtype <dtype>', 'compute dtype (default: f16 on a GPU, f32 on the CPU)').choices(['f32', 'f16', 'bf16']))
    .option('--json', json);
}

function runOptions(cmd: Command): Command {
  return modelOptions(cmd
    .argument('<model-dir>', 'folder with config.json, model.safetensors and tokenizer.json')
    .argument('<input>', "FASTA or CSV file (.gz too); '-' reads FASTA from stdin")
    .addOption(new Option('--format <format>', 'input format (default: from the file name)').choices(INPUT_FORMATS)),
  'write JSON Lines instead of TSV')
    .option('--batch-size <n>', 'sequences per model call', positiveInt, 64)
    .option('--max-length <n>', 'truncate each sequence to n tokens, [CLS] and [SEP] included', positiveInt)
    .option('--map-unknown-to-n', 'read IUPAC ambiguity codes (R Y S W K M B D H V) as N instead of refusing them')
    .option('-o, --output <file>', 'write to this file (atomically) instead of stdout')
    .option('--progress', 'show a progress bar on stderr even when it is not a terminal')
    .option('--no-progress', 'never show a progress bar');
}

function message(e: unknown): string {
  if (e instanceof GermError) return `${e.message.replace(/^germ: /, '')} (${e.code})`;
  const code = (e as { code?: unknown })?.code;
  // System errors (ENOENT, EACCES ...) say enough on their own.
  if (e instanceof Error && typeof code === 'string') return `${e.message} (${code})`;
  return `internal error: ${e instanceof Error ? e.stack : String(e)}`;
}

/** Runs `germ <argv...>` and returns the exit code. */
export async function main(argv: readonly string[], io: Partial<CliIO> = {}): Promise<number> {
  const { stdout = process.stdout, stderr = process.stderr, stdin = process.stdin } = io;
  const streams: CliIO = { stdout, stderr, stdin };
  const program = new Command('germ')
    .description('Embed or classify DNA sequences with a GERM / DNABERT-2 model (Hugging Face folder).')
    .version(version)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => stdout.write(s),
      writeErr: (s) => stderr.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, 'germ: ')),
    })
    .showHelpAfterError('(add --help for usage)');

  runOptions(program.command('embed').summary('write one embedding per sequence')
    .description('Write one embedding per sequence, in input order: TSV lines `id<TAB>v1<TAB>v2...`, or JSON Lines {id, embedding}.'))
    .addOption(new Option('--pooling <pooling>', 'mean of all tokens, or the [CLS] token').choices(['mean', 'cls']).default('mean'))
    .action((modelDir: string, input: string, o: RunOptions) => embedCommand(streams, modelDir, input, o));

  runOptions(program.command('classify').summary('predict the label of each sequence')
    .description('Write the predicted label and per-label probabilities of each sequence: TSV with a header row ' +
      '`id label <label names...>`, or JSON Lines {id, label, probabilities}. With a CSV label column, print the accuracy to stderr.'))
    .action((modelDir: string, input: string, o: RunOptions) => classifyCommand(streams, modelDir, input, o));

  modelOptions(program.command('info').description("print the model's configuration")
    .argument('<model-dir>', 'folder with config.json, model.safetensors and tokenizer.json'), 'print JSON')
    .action((modelDir: string, o: RunOptions) => infoCommand(streams, modelDir, o));

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2; // commander has printed it
    if (e instanceof UsageError) {
      stderr.write(`germ: ${e.message}\n`);
      return 2;
    }
    if ((e as { code?: unknown })?.code === 'EPIPE') return 0; // the reader went away (`| head`)
    stderr.write(`germ: ${message(e)}\n`);
    return 1;
  }
}
