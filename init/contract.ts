// The proxy contract's inbound source addresses, defined once: the proxy forwards an inbound
// connection to the app from these (so the app sees a loopback peer), and the capture rules let
// traffic from them pass instead of redirecting it again. The injector's templates take them from
// here (as ${capture.inboundSourceAddress} and ${capture.inboundSourceAddress6}), so the proxy
// and the rules cannot disagree.
export const inboundSourceAddresses = Object.freeze({ 4: '127.0.0.6', 6: '::6' } as const);
