// Runs a command as the leader of its own process group, and takes the whole group down (the
// command and everything it started, e.g. wrangler's workerd processes) when either:
// - this guard gets SIGTERM or SIGINT, or
// - its standard input closes: the process that started it holds the other end of that pipe,
//   and the kernel closes it whenever that process ends, even by SIGKILL or a crash.
// So a launcher that dies without cleaning up never leaves its dev server running. With
// `--remove <path>`, it also removes that path once the command has exited (the command's
// private variables file, say).
//
// Usage (spawned detached, stdin a pipe): node group-guard.mjs [--remove <path>] <command> [args...]
// Plain JavaScript, so it starts with plain node, without a TypeScript loader.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";

let argv = process.argv.slice(2);
let removeOnExit;
if (argv[0] === "--remove") {
  removeOnExit = argv[1];
  argv = argv.slice(2);
}
const [command, ...args] = argv;
const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });

let stopping = false;
function stopGroup() {
  if (stopping) return;
  stopping = true;
  signalGroup("SIGTERM"); // this guard too: its handler below ignores the repeat
  setTimeout(() => signalGroup("SIGKILL"), 3_000).unref();
}

function signalGroup(signal) {
  try {
    process.kill(-process.pid, signal);
  } catch {
    // the group is gone
  }
}

process.on("SIGTERM", stopGroup);
process.on("SIGINT", stopGroup);
process.stdin.on("end", stopGroup);
process.stdin.on("error", stopGroup);
process.stdin.resume();
child.on("error", (error) => {
  process.stderr.write(`${command}: ${error.message}\n`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (removeOnExit) rmSync(removeOnExit, { recursive: true, force: true });
  process.exit(code ?? (signal ? 1 : 0));
});
