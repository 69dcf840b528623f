import { readdirSync, readFileSync } from "node:fs";

/**
 * The processes running on this machine, read from Linux's /proc. Elsewhere there is no /proc
 * and the table is empty: callers that only look for processes (to measure or clean them up)
 * then find none rather than fail.
 */

/** One process, from /proc/<pid>/stat. */
export interface ProcessEntry {
  pid: number;
  /** Its name (the executable's, at most 15 characters), e.g. "workerd". */
  comm: string;
  /** Its parent's id. */
  ppid: number;
  /** Its process group's id. */
  pgrp: number;
}

/** The id of every process, in the order /proc lists them. */
export function processIds(): number[] {
  try {
    return readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return []; // no /proc: not Linux
  }
}

/** `pid`'s entry, or null once it has exited. */
export function processEntry(pid: number): ProcessEntry | null {
  try {
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const rest = stat.slice(close + 2).split(" ");
    return { pid, comm: stat.slice(stat.indexOf("(") + 1, close), ppid: Number(rest[1]), pgrp: Number(rest[2]) };
  } catch {
    return null;
  }
}

/** Every process running now, in the order /proc lists them (those that exit while it is read are left out). */
export function processTable(): ProcessEntry[] {
  return processIds().flatMap((pid) => processEntry(pid) ?? []);
}

/** The direct children of `pid`. */
export function childrenOf(pid: number, table: readonly ProcessEntry[] = processTable()): ProcessEntry[] {
  return table.filter((p) => p.ppid === pid);
}

/** The processes started under `pid` (children, grandchildren, …), nearest first. */
export function descendantsOf(pid: number, table: readonly ProcessEntry[] = processTable()): number[] {
  const found: number[] = [];
  for (const queue = [pid]; queue.length > 0; ) {
    for (const child of childrenOf(queue.shift()!, table)) {
      found.push(child.pid);
      queue.push(child.pid);
    }
  }
  return found;
}

/**
 * The processes named `comm` in process group `pgid`. A command run under local/group-guard.mjs
 * (wrangler dev, say) has a group of its own, so this finds the workerd it started and no other.
 */
export function processesInGroup(pgid: number, comm: string): number[] {
  return processTable()
    .filter((p) => p.comm === comm && p.pgrp === pgid)
    .map((p) => p.pid);
}
