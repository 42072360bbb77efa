// Moved to test/injector/webhook/support/ (tests sit next to what they test). This re-export keeps
// the benchmark that imports it from here working until it names the new path.
export * from '../../injector/webhook/support/reviews.js';
