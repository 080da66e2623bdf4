// The `germ` executable (dist/cli.js, with a #!/usr/bin/env node banner from tsup).
import { main } from './main';

// `germ embed ... | head`: the reader closing the pipe ends the run quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
});

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
