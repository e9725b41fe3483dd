// The health tests' manual clock: the one of test/helpers.
export { FakeClock, flush } from '../helpers/fake-clock.js';
