import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { processIds } from "./process-table";

/** A process found listening on a TCP port. */
export interface PortHolder {
  pid: number;
  /** Its command line, shortened for a message (e.g. `node /usr/bin/npx wrangler dev`). */
  command: string;
}

/**
 * Which process listens on TCP `port` (any local address, IPv4 or IPv6), best effort: on
 * Linux it reads the listening sockets from `/proc/net/tcp{,6}` and finds the process whose
 * file descriptors hold one of them. Processes of other users cannot be inspected, and other
 * systems have no `/proc`: both give `undefined`, and callers still name the port.
 *
 * @example findPortHolder(8787) // { pid: 4242, command: "node server.js" }
 */
export function findPortHolder(port: number): PortHolder | undefined {
  const inodes = listeningSocketInodes(port);
  if (inodes.size === 0) return undefined;
  for (const pid of processIds()) {
    if (holdsSocket(pid, inodes)) return { pid, command: commandLine(pid) };
  }
  return undefined;
}

/** Socket inodes in state LISTEN (0A) on `port`, from the kernel's socket tables. */
function listeningSocketInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue; // no /proc (not Linux), or no IPv6
    }
    // Columns: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1] ?? "";
      if (fields[3] === "0A" && local.endsWith(`:${hexPort}`) && fields[9]) inodes.add(fields[9]);
    }
  }
  return inodes;
}

function holdsSocket(pid: number, inodes: Set<string>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false; // gone, or another user's
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match && inodes.has(match[1]!)) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

function commandLine(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return "?";
  }
}
