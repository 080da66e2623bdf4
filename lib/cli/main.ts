// The `germ` command line: argument parsing (commander) and exit codes.
//   0  success
//   1  the work failed: printed as `germ: <message> (<code>)`, no stack trace
//   2  a usage error: unknown option, missing argument, bad option value
// main() takes the arguments after `germ` and returns the exit code, writing
// only to the streams it is given, so tests call it in process.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { GermError } from '../errors';
import { type CliIO, type RunOptions, UsageError, classifyCommand, embedCommand, infoCommand } from './commands';
import { type BuildOptions, buildCommand } from './build';
import { type DoctorCliOptions, doctorCommand } from './doctor';
import { DEFAULT_MAX_RECORD_LENGTH } from '../io/fasta';
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
    .option('--max-record-length <n>', `refuse FASTA records longer than n bases (default: ${DEFAULT_MAX_RECORD_LENGTH})`, positiveInt)
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

  program.command('doctor').summary('say whether the GPU is used, and why not')
    .description('Print the loaded binary, its build, the driver, each GPU (usable or not, and why) and the CPU, ' +
      'then run a small computation on each usable GPU and compare it with the CPU.')
    .option('--cuda', 'exit 1 unless a GPU is usable (and every GPU check passes)')
    .option('--json', 'print the report as JSON')
    .action((o: DoctorCliOptions) => doctorCommand(streams, o));

  program.command('build').summary('compile the native addon from source, in the installed package')
    .description('Compile germ.node from source with cmake-js (CMake >= 3.18, g++ >= 10; nvcc 12 or 13 for the CUDA ' +
      'backend, GERM_NVCC=/path/to/nvcc picks one) into the package\'s build/Release, which germ then loads instead of ' +
      'the prebuilt binary. Compiler output goes to stderr; the new binary\'s buildInfo() to stdout.')
    .addOption(new Option('--cuda <mode>', 'the CUDA backend: when nvcc is found, always, or never').choices(['auto', 'on', 'off']))
    .option('--cuda-archs <list>', "CUDA architectures, e.g. '86' or '75,90' (default: 75, 80, 86, 89, 90 and PTX)")
    .option('--jobs <n>', 'parallel compile jobs (default: all cores)', positiveInt)
    .action((o: BuildOptions) => buildCommand(streams, o));

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
