// The announce events, numbered once for every protocol and the store: BEP 15's numbering (UDP
// carries it on the wire), which the HTTP query parser, the WebSocket message parser, the store and
// the cluster's change records all use. `paused` (BEP 21) is HTTP's only; the store treats it as none.

export const EVENT_NONE = 0;
export const EVENT_COMPLETED = 1;
export const EVENT_STARTED = 2;
export const EVENT_STOPPED = 3;
export const EVENT_PAUSED = 4;
