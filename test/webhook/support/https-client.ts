// Moved to test/injector/webhook/support/ (tests sit next to what they test). This re-export keeps
// the e2e suite and the benchmark that import it from here working until they name the new path.
export * from '../../injector/webhook/support/https-client.js';
