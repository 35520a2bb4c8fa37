import type { FastifyInstance } from 'fastify'
import { adminActor } from '../admin-auth.js'
import { iso, roleJson } from '../presenters.js'
import { actionContext, readJson, readOptionalFields, readOptionalJson, readQuery } from '../request-readers.js'
import type { HttpServices } from '../services.js'

type NameParams = { Params: { name: string } }

export function adminRoleRoutes(admin: FastifyInstance, s: HttpServices): void {
  admin.post('/roles', async (request, reply) => {
    const role = await s.roles.create(readJson(request), actionContext(request, adminActor(request)))
    return reply.code(201).send(roleJson(role))
  })
  admin.get('/roles', async (request) => {
    readQuery(request, [])
    return { roles: (await s.roles.list()).map(roleJson) }
  })
  admin.get<NameParams>('/roles/:name', async (request) => {
    readQuery(request, [])
    return roleJson(await s.roles.get(request.params.name))
  })
  admin.put<NameParams>('/roles/:name', async (request) =>
    roleJson(await s.roles.update(request.params.name, readJson(request), actionContext(request, adminActor(request)))),
  )
  admin.delete<NameParams>('/roles/:name', async (request, reply) => {
    await s.roles.delete(request.params.name, actionContext(request, adminActor(request)))
    return reply.code(204).send()
  })
  admin.post<NameParams>('/roles/:name/initial-access-tokens', async (request, reply) => {
    const issued = await s.roles.createInitialAccessToken(request.params.name, readOptionalJson(request), actionContext(request, adminActor(request)))
    // The token is shown here once; only its digest is kept.
    return reply.code(201).header('cache-control', 'no-store').send({ id: issued.id, token: issued.token, expires_at: iso(issued.expiresAt), uses: issued.uses })
  })
  admin.get<NameParams>('/roles/:name/initial-access-tokens', async (request) => {
    readQuery(request, [])
    const tokens = await s.roles.listInitialAccessTokens(request.params.name)
    return {
      initial_access_tokens: tokens.map((t) => ({
        id: t.id, role: t.role, uses_left: t.usesLeft, uses: t.usesTotal, expires_at: iso(t.expiresAt), created_at: iso(t.createdAt), created_by: t.createdBy,
      })),
    }
  })
  admin.delete<{ Params: { name: string; id: string } }>('/roles/:name/initial-access-tokens/:id', async (request, reply) => {
    readOptionalFields(request, [])
    await s.roles.revokeInitialAccessToken(request.params.name, request.params.id, actionContext(request, adminActor(request)))
    return reply.code(204).send()
  })
}
