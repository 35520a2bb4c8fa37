import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SDK = join(ROOT, 'packages/sdk')
const run = promisify(execFile)

describe('the published package', () => {
  test('npm pack holds the compiled JavaScript, the .d.ts files, package.json and README.md, and nothing else', async () => {
    // Build exactly as `npm run build` does (it starts from an empty dist/).
    const scripts = (JSON.parse(readFileSync(join(SDK, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
    assert.match(scripts.build!, /rmSync\('dist'/, 'the build starts from an empty dist/')
    await run('npm', ['run', '-s', 'build'], { cwd: SDK, shell: process.platform === 'win32' })
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: SDK, shell: process.platform === 'win32' })
    const files = ((JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files).map((f) => f.path).sort()

    const unexpected = files.filter((f) => !(f === 'package.json' || f === 'README.md' || (f.startsWith('dist/') && (f.endsWith('.js') || f.endsWith('.d.ts')))))
    assert.deepEqual(unexpected, [], 'no source maps, declaration maps, .tsbuildinfo or sources')
    // Every module of src/ is there, compiled and declared.
    const modules = (readdirSync(join(SDK, 'src'), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => f.split('\\').join('/').replace(/\.ts$/, ''))
    assert.ok(modules.length > 20)
    for (const m of modules) {
      assert.ok(files.includes(`dist/${m}.js`), `dist/${m}.js`)
      assert.ok(files.includes(`dist/${m}.d.ts`), `dist/${m}.d.ts`)
    }
    assert.equal(files.length, modules.length * 2 + 2)
    // Nothing shipped points at files that are not: no sourceMappingURL comments.
    for (const f of files.filter((f) => f.startsWith('dist/'))) {
      assert.doesNotMatch(readFileSync(join(SDK, f), 'utf8'), /sourceMappingURL/, f)
    }
    // What package.json says to load is in the tarball.
    const pkg = JSON.parse(readFileSync(join(SDK, 'package.json'), 'utf8')) as { main: string; types: string; dependencies: Record<string, string> }
    assert.ok(files.includes(pkg.main.replace(/^\.\//, '')) && files.includes(pkg.types.replace(/^\.\//, '')))
    assert.deepEqual(Object.keys(pkg.dependencies), ['jose'])
  })
})
