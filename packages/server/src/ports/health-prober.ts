/** Probes a session's health-check URL. */
export interface HealthProber {
  /**
   * One request, no redirects followed, short timeouts. `allowPrivate` says whether the target
   * may be a private, loopback or link-local address; if not, such an address is never connected to.
   */
  probe(url: string, options: { allowPrivate: boolean }): Promise<{ alive: boolean; detail: string }>
}
