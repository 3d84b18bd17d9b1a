// Where the handler keeps what outlives a request: this process's memory, or the user's Redis
// laid out as runbase-server lays it (the core's prefix and Lua scripts, the same names), so
// that handlers on many instances, and runbase-server beside them, share one key's window,
// its runs, their owners and the per-caller limits. Both stores answer the same calls.
import { CallerWindows, KeySlots, SpendGuard, storePrefix, storeScript, storeTimes, clampPauseMs } from "./wasm.js";

/** How long an instance not seen is alive, and a run not finished is kept (the core's). */
const [ALIVE_MS, RUN_TTL_MS] = storeTimes();
/** How long a finished run is kept: runbase-server's --keep-finished-ms default. */
const KEEP_FINISHED_MS = 3600_000;
const FINISHED = new Set(["succeeded", "failed", "canceled"]);

export const isFinished = (run) => FINISHED.has(run?.status);

const newInstance = () => `js-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

/** One process's state per key (handlers made for one key in one process share it). */
class MemoryStore {
  constructor(limits) {
    this.shared = false;
    this.instance = newInstance();
    this.calls = new Map();
    this.spend = limits.spend;
    this.slots = new KeySlots();
    this.runs = new Map(); // id → { run, meta, owner, until }
    this.polls = new Map(); // id → until
  }

  countCall(name, caller, limit, windowMs) {
    let windows = this.calls.get(name);
    if (!windows) this.calls.set(name, (windows = new CallerWindows(limit, windowMs)));
    return windows.check(caller, Date.now());
  }

  reserveSpend(caller, noun, price, now) {
    return this.spend.reserve(caller, noun, price, now);
  }

  adjustSpend(caller, noun, reservedAt, by) {
    this.spend.adjust(caller, noun, reservedAt, by);
  }

  // The key's window as take.lua, release.lua and pause.lua keep it in Redis (the core's
  // KeySlots): a slot counts from its grant until `hold` after its answer.
  takeSlot(limit, leaseMs) {
    const taken = this.slots.take(limit, leaseMs, Date.now());
    return taken > 0 ? { member: taken } : { waitMs: -taken };
  }

  releaseSlot(member, holdMs, ok) {
    this.slots.release(member, holdMs, ok, Date.now());
  }

  pause(retryAfterMs) {
    this.slots.pause(retryAfterMs || undefined, Date.now());
  }

  readRun(id) {
    const kept = this.runs.get(id);
    if (!kept || kept.until < Date.now()) return null;
    return { run: kept.run, meta: kept.meta, owner: kept.owner };
  }

  writeRun(run, meta, owner) {
    const until = Date.now() + (isFinished(run) ? KEEP_FINISHED_MS : RUN_TTL_MS);
    const previous = this.runs.get(run.id);
    this.runs.delete(run.id);
    this.runs.set(run.id, { run, meta: meta ?? previous?.meta, owner: owner ?? previous?.owner, until });
    // Oldest first: beyond 10,000 runs the oldest are forgotten (their ids still open, and a
    // forgotten run is read from the API again).
    if (this.runs.size > 10_000) this.runs.delete(this.runs.keys().next().value);
  }

  claimPoll(id, ms) {
    const now = Date.now();
    if ((this.polls.get(id) ?? 0) > now) return false;
    this.polls.set(id, now + ms);
    if (this.polls.size > 10_000) for (const [k, until] of this.polls) if (until <= now) this.polls.delete(k);
    return true;
  }
}

/** Raw commands on a node-redis (v4 and later) or an ioredis client. */
function commander(client) {
  if (typeof client?.call === "function") return (args) => client.call(...args); // ioredis
  if (typeof client?.sendCommand === "function") return (args) => client.sendCommand(args); // node-redis
  return null;
}

export const isRedisClient = (client) => commander(client) !== null;

/** The key's state in Redis: the names and scripts of runbase-server, under the core's prefix. */
class RedisStore {
  constructor(client, prefix, memory) {
    this.shared = true;
    this.command = commander(client);
    this.prefix = prefix;
    this.instance = memory.instance;
    this.seq = 0;
    // Where Redis does not answer: per-caller windows go on in memory, as runbase-server's do.
    this.memory = memory;
    this.spend = memory.spend;
    this.scripts = new Map();
  }

  key(name) {
    return `${this.prefix}${name}`;
  }

  member() {
    return `${this.instance}:${this.seq++}`;
  }

  eval(name, keys, args) {
    let script = this.scripts.get(name);
    if (!script) this.scripts.set(name, (script = storeScript(name)));
    return this.command(["EVAL", script, String(keys.length), ...keys.map((k) => this.key(k)), ...args.map(String)]);
  }

  async countCall(name, caller, limit, windowMs) {
    try {
      return Number(await this.eval("calls", [`calls:${name}:${caller}`], [limit, windowMs, this.member()]));
    } catch {
      return this.memory.countCall(name, caller, limit, windowMs);
    }
  }

  /** -1, or the window it would overrun; null when Redis did not answer (refused: 503). */
  async reserveSpend(caller, noun, price, now, windows) {
    const args = [price];
    for (const w of windows) args.push(w.limit, w.resetsAtMs - now + 60_000);
    try {
      const over = Number(await this.eval("spend", windows.map((w) => w.key), args));
      return over === 0 ? -1 : over - 1;
    } catch {
      return null;
    }
  }

  async adjustSpend(caller, noun, reservedAt, by, windows) {
    if (!by) return;
    const now = Date.now();
    for (const w of windows) {
      try {
        await this.command(["INCRBY", this.key(w.key), String(by)]);
        await this.command(["PEXPIRE", this.key(w.key), String(Math.max(1, w.resetsAtMs - now + 60_000))]);
      } catch {
        return; // as runbase-server: a refund that cannot be written errs on the safe side
      }
    }
  }

  async takeSlot(limit, leaseMs, want) {
    const member = this.member();
    const [granted, waitMs] = await this.eval("take", ["slots", "pause", "queue", "instances"], [
      limit, Math.round(leaseMs), member, "", ALIVE_MS, want,
    ]);
    return Number(granted) === 1 ? { member } : { waitMs: Math.min(60_000, Math.max(1, Number(waitMs))) };
  }

  async releaseSlot(member, holdMs, ok) {
    await this.eval("release", ["slots", "strikes"], [member, Math.round(holdMs), ok ? 1 : 0]).catch(() => {});
  }

  async pause(retryAfterMs) {
    await this.eval("pause", ["pause", "strikes"], [retryAfterMs ? clampPauseMs(retryAfterMs) : 0]).catch(() => {});
  }

  async readRun(id) {
    const [run, meta, owner] = await this.command(["MGET", this.key(`run:${id}`), this.key(`meta:${id}`), this.key(`owner:${id}`)]);
    if (typeof run !== "string") return null;
    try {
      return { run: JSON.parse(run), meta: meta ?? undefined, owner: owner ?? undefined };
    } catch {
      return null;
    }
  }

  /** A run's state as runbase-server writes it: the state, its owner, and while it is not
   *  finished its meta and its place among the runs followed (so a runbase-server on the same
   *  Redis takes over polling it), then the announcement. One script: one atomic step. */
  async writeRun(run, meta, owner) {
    const finished = isFinished(run);
    await this.eval("put_run", [`run:${run.id}`, `owner:${run.id}`, `meta:${run.id}`, "followed", "changed"], [
      JSON.stringify(run), owner ?? "", finished ? 1 : 0, meta ?? "", finished ? KEEP_FINISHED_MS : RUN_TTL_MS, run.id,
      this.key("changed"),
    ]);
  }

  async claimPoll(id, ms) {
    const taken = await this.command(["SET", this.key(`lease:${id}`), this.instance, "NX", "PX", String(Math.max(1, Math.round(ms)))]);
    return taken === "OK";
  }
}

const memories = new Map();

/** The store of one key at one upstream: this process's memory (shared by every handler made
 *  for that key here), or Redis. */
export function openStore({ upstream, apiKey, redis, spend }) {
  const prefix = storePrefix(upstream, apiKey);
  const memoryKey = `${prefix}|${spend.join(",")}`;
  let memory = memories.get(memoryKey);
  if (!memory) {
    memory = new MemoryStore({ spend: new SpendGuard(...spend.map((usd) => (usd === undefined ? undefined : Math.round(usd * 1e6)))) });
    memories.set(memoryKey, memory);
  }
  return redis ? new RedisStore(redis, prefix, memory) : memory;
}
