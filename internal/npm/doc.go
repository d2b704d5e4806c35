// Package npm resolves the npm packages a script imports, pins them in a
// Lock and unpacks them into a content-addressed cache that esbuild
// bundles from (internal/jsbuild drives it).
//
// # Layout of the cache
//
// Each package version is unpacked once, by integrity, into
//
//	CacheDir/store/<h>/<name>@<version>-<h…>/node_modules/<name>/
//
// where h… is a hash of the integrity and <h> its first byte (a scoped
// name's slash becomes "+").
//
// There is no shared node_modules tree. The jsbuild plugin asks a
// Resolution where an import of a given file goes (the importing package's
// locked dependency) and lets esbuild resolve the bare path from that
// entry's directory, so esbuild applies package.json "exports", "module"
// and "main" itself. Compared with materialising a nested node_modules
// tree per lock (hoisting, copying or linking files, one tree per lock
// hash), this costs nothing per build; each package sees exactly the
// versions its lock entry names; two versions of one package never
// conflict; and an entry is complete the moment its directory exists
// (written to a temporary directory and renamed), so concurrent builds,
// in one process or several, can share a cache.
//
// # Resolution
//
// Versions are chosen as npm chooses them (see packument.pick). Every
// package version resolves its dependencies once, as pnpm does: regular
// dependencies must resolve; optionalDependencies are best effort
// (skipped when unknown, unsatisfiable, not a registry version, or
// restricted to an os/cpu, which in practice means a native binary);
// devDependencies are ignored; peerDependencies link to a package the
// graph already holds (a root import first) and are otherwise left out. Only registry versions are
// supported: git, file, link and URL dependencies are errors.
//
// # Trust
//
// Tarballs are checked against dist.integrity (or the sha1 dist.shasum of
// old packages) before they are unpacked, and unpacking writes only
// regular files and directories inside the entry. A lock is validated
// (names, versions, integrities, http(s) tarball URLs) before use; its
// tarball URLs are fetched as given, so a lock is as trusted as the store
// that keeps it.
package npm
