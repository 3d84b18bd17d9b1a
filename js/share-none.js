// Outside browsers (Node, Deno, Bun, Workers, edge runtimes) a key's budget is shared by the
// clients of one process, and no further: a channel or lock held open there would keep the
// process alive after its work is done. scripts/bundle.mjs puts this file in place of
// share.js in every entry but the browser's.
export const keyShares = undefined;
