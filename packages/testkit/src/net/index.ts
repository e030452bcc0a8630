// Loopback network and process helpers: free ports, plain GETs on fresh connections, backends
// that answer their name, /proc lookups and bounded polling.

export type { Backend } from './backend.js';
export { startBackend } from './backend.js';
export type { BackendFleet, FleetBackend } from './backend-fleet.js';
export { sharedClock, startBackendFleet } from './backend-fleet.js';
export { freePort, holdPort } from './free-port.js';
export type { HttpAnswer } from './http.js';
export { get, httpGet } from './http.js';
export { eventually, pollUntil } from './poll.js';
export { childPids, pidAlive } from './processes.js';
