// A key's request budget shared with the other tabs and workers of this origin, which the API
// counts as one: the wasm client asks for a place before each request (take) and tells of a
// 429's pause (pause). One Web Lock per place of the window: a request holds one for the
// window's length, so at most `places` go out in any window from all the tabs together, and a
// tab that closes or crashes gives its places back (the browser releases its locks). What goes
// between tabs names the key by a SHA-256 of it, never the key.
//
// The browser entry's only (share-none.js stands in elsewhere). Where a browser lacks Web
// Locks, BroadcastChannel or SubtleCrypto (a page that is not a secure context) there is no
// share: the clients keep the budget of their own page or worker.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The wasm client asks `of` once per key: the share of the key named by `identity` (its API
 *  base, key and window), `places` requests per `holdMs`; undefined where it cannot be shared.
 *  Nothing here throws: the checks on its first lines guard the only APIs that may be missing. */
export const keyShares = { of(identity, places, holdMs) {
  const locks = globalThis.navigator?.locks;
  if (!locks?.request || !globalThis.BroadcastChannel || !globalThis.crypto?.subtle) return;
  // When each place was last used (a place whose holder went away early is used again only
  // once its request has left the window), and at -1 until when nobody sends (a 429's pause).
  const last = [];
  const note = (place, time) => (last[place] = Math.max(last[place] ?? 0, time));
  let channel;
  const name = crypto.subtle
    .digest("SHA-256", new TextEncoder().encode(identity))
    .then((hash) => {
      channel = new BroadcastChannel(`runbase-image ${btoa(String.fromCharCode(...new Uint8Array(hash)))}`);
      channel.onmessage = ({ data }) => note(...data);
      return channel.name;
    });
  const tell = (place, time) => name.then(() => channel.postMessage([place, note(place, time)]));
  return {
    pause: (until) => tell(-1, until),
    /** Resolves once this tab holds a place for one request (a rejection leaves the client to
     *  its own budget). */
    async take(signal) {
      const id = await name;
      // Every place asked for at once: the first to be free is held, the other asks withdrawn.
      const asks = new AbortController();
      const withdraw = () => asks.abort();
      signal.addEventListener("abort", withdraw);
      return new Promise((resolve) => {
        for (let place = 0; place < places; place++) {
          locks.request(`${id} ${place}`, { signal: asks.signal }, async () => {
            if (asks.signal.aborted) return;
            withdraw();
            signal.removeEventListener("abort", withdraw);
            // Once the place's last request has left the window, and any pause is over.
            await sleep(Math.max((last[place] ?? 0) + holdMs, last[-1] ?? 0) - Date.now());
            if (signal.aborted) return;
            tell(place, Date.now());
            resolve();
            await sleep(holdMs);
          }).catch(() => asks.signal.aborted || resolve()); // refused (an opaque origin): go alone
        }
      });
    },
  };
} };
