import type { FastifyInstance } from 'fastify'

export interface RouteMethods {
  /** The methods some route answers for this concrete path (empty when no route has the path). */
  allowedFor(path: string): string[]
}

/** Records every route as it is added, so a request with the wrong method can be told which ones exist. */
export function routeMethods(app: FastifyInstance): RouteMethods {
  const routes: Array<{ pattern: RegExp; methods: string[] }> = []
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    routes.push({ pattern: patternFor(route.url ?? route.path), methods: methods.map((m) => m.toUpperCase()) })
  })
  return {
    allowedFor(path) {
      const found = new Set<string>()
      for (const r of routes) if (r.pattern.test(path)) r.methods.forEach((m) => found.add(m))
      return [...found].sort()
    },
  }
}

/** A route URL such as /register/:client_id as an anchored regular expression. */
function patternFor(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${source}$`)
}
