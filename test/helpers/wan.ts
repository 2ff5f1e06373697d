// The fake WAN of the tour, for tests that need an outside world (src/tour/wan.ts).
export { WAN, makeWan, type Wan } from '../../src/tour/wan.js';
