import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import type { HealthProber } from '../../ports/health-prober.js'
import { addressRefusal } from '../../domain/sessions/address-policy.js'

export interface ProberOptions {
  /** Whole probe, connection to response headers. */
  timeoutMs: number
}

/**
 * Health checks over node:http(s). The address is checked where it is used: the lookup the
 * socket connects with refuses inward addresses, so a name cannot resolve to a public address
 * when checked and a private one when connected (DNS rebinding). Redirects are never followed
 * (node:http does not follow them; a 3xx is simply not a 2xx), and the body is not read.
 */
export function httpProber(options: ProberOptions = { timeoutMs: 3000 }): HealthProber {
  return {
    probe(url, { allowPrivate }) {
      return new Promise((resolve) => {
        const target = new URL(url)
        const host = target.hostname.replace(/^\[|\]$/g, '')
        if (isIP(host) !== 0) {
          const refused = addressRefusal(host, allowPrivate)
          if (refused) return resolve({ alive: false, detail: refused })
        }
        const lookup: LookupFunction = (hostname, opts, callback) => {
          dnsLookup(hostname, { ...opts, all: true }, (err, addresses: LookupAddress[]) => {
            if (err) return callback(err, '', 0)
            // Every address must pass, or a round-robin name could be used to reach inward.
            const bad = addresses.map((a) => addressRefusal(a.address, allowPrivate)).find((r) => r !== undefined)
            if (bad || addresses.length === 0) return callback(Object.assign(new Error(bad ?? 'no address'), { code: 'EPROBEREFUSED' }), '', 0)
            if (opts.all) return callback(null, addresses)
            callback(null, addresses[0]!.address, addresses[0]!.family)
          })
        }
        const send = target.protocol === 'https:' ? httpsRequest : httpRequest
        // agent: false: a fresh connection each time, so every probe's address is checked anew.
        const req = send(target, { method: 'GET', agent: false, lookup, timeout: options.timeoutMs, headers: { 'user-agent': 'mandate-health-check', accept: '*/*' } }, (res) => {
          res.resume()
          const status = res.statusCode ?? 0
          req.destroy()
          resolve({ alive: status >= 200 && status < 300, detail: `HTTP ${status}` })
        })
        const timer = setTimeout(() => req.destroy(new Error('probe timed out')), options.timeoutMs)
        timer.unref()
        req.on('close', () => clearTimeout(timer))
        req.on('timeout', () => req.destroy(new Error('probe timed out')))
        req.on('error', (err) => resolve({ alive: false, detail: err.message }))
        req.end()
      })
    },
  }
}
