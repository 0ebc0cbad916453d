// src/p9: our 9P2000.L codec and synchronous stream framing.
//
// What lives here: message numbers and layouts (messages.ts, one table),
// little-endian primitives with a bounds-checked, sticky-error decoder
// (wire.ts), and blocking framing over a socket fd (transport.ts).
// Who uses it: the Gofer (gofer/, the server) and the Sentry's client
// (sentry/fsgofer/). It imports only Node builtins and src/.
//
// Rules: decode() never throws, whatever the bytes (it returns a
// DecodeError); encode() is for trusted data and throws only on bugs.
export * from './wire';
export * from './messages';
export * from './transport';
