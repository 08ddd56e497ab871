/*
 * systemk plugin ABI — the contract between the systemk node agent ("the host") and the shared
 * objects that resolve images and prepare volumes ("plugins").
 *
 * This header is plain C11 and is the only file a plugin may include. It is stable: within one
 * major version it only ever grows at the end of a struct or an enum. A plugin built against an
 * older minor keeps loading into a newer host, forever.
 *
 * ABI version history (append a line for every change; never edit an old line):
 *   1.0  first release: entry point, negotiation, host services (log, config_get, fetch),
 *        image resolver (claim, resolve, release), volume handler (prepare, cleanup).
 *
 * ---------------------------------------------------------------------------------------------
 * Files, names and trust
 *   A plugin is a file "<name>.so" (or "libsystemk-<name>.so", for distributions that prefix
 *   libraries) in the host's plugin directory; <name> is 1 to 64 characters of [a-z0-9-] and must
 *   equal the descriptor's `name`, or the host refuses the plugin after loading it. The host
 *   decides from the file name and metadata alone, before dlopen (which runs the library's
 *   constructors), whether to open a file at all: a plugin disabled by configuration is never
 *   opened, and neither is a file that is not owned by root (or the host's effective uid) or is
 *   writable by group or others, nor one whose directory, or any directory above it up to /, is
 *   (a parent with the sticky bit, like /tmp, may be writable by others). For a symlink the
 *   resolved target and its directories are checked as well. Each refusal is one log line naming
 *   the file and the reason.
 *
 * Inputs
 *   The host hands a resolver only an image of 1 to 4096 bytes without control characters (no
 *   NUL, newline, ...). Plugins still bound what they read (a plugin may run in other hosts) and
 *   must parse in time and stack linear in the input: no backtracking regular expressions.
 *
 * Loading and negotiation
 *   The plugin exports exactly one symbol, systemk_plugin_entry (see SYSTEMK_PLUGIN_ENTRY), and
 *   hides everything else. The host calls it once, right after dlopen, with its services table.
 *   The plugin returns a pointer to a static systemk_plugin descriptor (or NULL to decline, after
 *   logging why through host->log). The host accepts the plugin when
 *       descriptor->abi_major == SYSTEMK_ABI_MAJOR  and  descriptor->abi_minor <= the host's minor,
 *   and refuses it otherwise with one log line naming the file and both versions. A plugin may
 *   look at host->abi_minor to avoid host services newer than the host it runs in.
 *
 * Sizes and appending
 *   Every struct starts with `uint32_t struct_size` = sizeof the struct as the writer compiled it.
 *   A reader uses a field only if offsetof(field) + sizeof(field) <= struct_size; fields beyond
 *   that count as absent (NULL / 0). New fields are appended at the end with a minor bump.
 *
 * Data
 *   Kubernetes objects cross the boundary as UTF-8 JSON text exactly as the API server serves
 *   them (a container, a VolumeSource, ...), so the API can evolve without touching this ABI.
 *   Every request/result format is documented next to the call that uses it.
 *
 * Ownership
 *   Inputs (const char *, structs) are borrowed for the duration of the call only; copy what
 *   you keep. Outputs are written through a host-provided systemk_output (an append callback);
 *   nothing is ever freed on the other side of the boundary. Strings in the descriptor are
 *   static in the plugin and must live as long as the library stays loaded (the host keeps it
 *   loaded for its whole lifetime).
 *
 * Errors
 *   Calls return a systemk_status. On failure the plugin writes a one-line, human-readable
 *   message to `error` (it ends up in the pod's status and in an Event, so never put a secret
 *   into it). No C++ exception, longjmp or signal may cross the boundary: every entry point
 *   catches everything.
 *
 * Threading
 *   systemk_plugin_entry, init and fini are called from one thread, never concurrently with
 *   anything else of the same plugin. After init, the host may call any operation from several
 *   threads at once, with two guarantees: it never runs two operations for the same pod and the
 *   same object (image, volume) at once, and it never runs two `resolve`/`release` calls of the
 *   same resolver at once (package managers take a global lock anyway). Host services may be
 *   called from any thread. cleanup and release are idempotent: calling them again, or for
 *   something never prepared, succeeds.
 */
#ifndef SYSTEMK_PLUGIN_H
#define SYSTEMK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SYSTEMK_ABI_MAJOR 1
#define SYSTEMK_ABI_MINOR 0

/* The one exported symbol; its type is systemk_plugin_entry_fn. */
#define SYSTEMK_PLUGIN_ENTRY_NAME "systemk_plugin_entry"

#if defined(__GNUC__)
#define SYSTEMK_EXPORT __attribute__((visibility("default")))
#else
#define SYSTEMK_EXPORT
#endif

typedef enum systemk_status {
    SYSTEMK_OK = 0,
    SYSTEMK_ERR_INVALID = 1,     /* the request is malformed or names something impossible */
    SYSTEMK_ERR_NOT_FOUND = 2,   /* the image / package / path / object does not exist */
    SYSTEMK_ERR_UNSUPPORTED = 3, /* valid, but this plugin cannot do it (yet) */
    SYSTEMK_ERR_TRANSIENT = 4,   /* worth retrying later (network, lock held, ...) */
    SYSTEMK_ERR_INTERNAL = 5     /* a bug or an unexpected failure inside the plugin */
} systemk_status;

typedef enum systemk_log_level {
    SYSTEMK_LOG_DEBUG = 0,
    SYSTEMK_LOG_INFO = 1,
    SYSTEMK_LOG_WARN = 2,
    SYSTEMK_LOG_ERROR = 3
} systemk_log_level;

typedef enum systemk_plugin_kind {
    SYSTEMK_KIND_IMAGE_RESOLVER = 1,
    SYSTEMK_KIND_VOLUME_HANDLER = 2
} systemk_plugin_kind;

/* A sink owned by the host. `write` appends `len` bytes (no terminator needed) and may be
 * called any number of times during the call that received the output. */
typedef struct systemk_output {
    uint32_t struct_size;
    void *ctx;
    void (*write)(void *ctx, const char *data, size_t len);
} systemk_output;

/* Services the host offers to plugins. Valid from systemk_plugin_entry until the process ends. */
typedef struct systemk_host {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    void *ctx; /* pass back as the first argument of every service */

    /* One line per event; the host adds the plugin's name. Never log secret contents. */
    void (*log)(void *ctx, systemk_log_level level, const char *message);

    /* Looks up "<plugin name>.<key>" in systemk's configuration (e.g. key "root" of plugin
     * "pkg-apt" is the setting "pkg-apt.root"). Returns 1 and writes the value when set, 0 when
     * unset. Only a plugin's own keys are visible to it. */
    int (*config_get)(void *ctx, const char *key, systemk_output *value);

    /* Downloads an https:// URL into the file dest_path (created or truncated) using the host's
     * TLS and CA configuration. Returns SYSTEMK_OK or an error with a message in `error`. */
    systemk_status (*fetch)(void *ctx, const char *url, const char *dest_path, systemk_output *error);
} systemk_host;

/* ---------------------------------------------------------------------------------------------
 * Image resolvers: turn a container's `image` into something runnable on this host.
 *
 * claim(image): how well this resolver understands `image`, 0 = not at all, 100 = it is
 *   unambiguously mine (a scheme like "https://" or an absolute path). The host asks every
 *   resolver and picks the highest; ties go to the plugin loaded first (sorted by file name).
 *   Must be cheap and must not touch the system: it runs on the reconcile path.
 *
 * resolve(request_json, result, error): make the image available.
 *   request: {"image": "<image>", "dryRun": bool, "pod": {"namespace","name","uid"},
 *             "container": <the v1.Container as JSON>}
 *   dryRun: report what would be used without installing or downloading anything.
 *   result (JSON object, every member optional unless noted):
 *     "package":  the package name, if any
 *     "version":  the package version, if known
 *     "installed": true if this call installed the package (then the host masks the package's
 *                  own unit so that it does not run outside Kubernetes' control)
 *     "unit":     {"name": "x.service", "path": "/lib/systemd/system/x.service"} — the package's
 *                 own service unit; its ExecStart= is the container's default command
 *     "execStart": ["/abs/path", "arg", ...] — the default command when there is no unit
 *                 (e.g. the image is a path to a binary)
 *     "dataDirectories": ["/var/spool/x", ...] — the package's own data directories; a pod
 *                 running a package systemk installed may write there
 *     "present":  dryRun only: false when the real call would download or install something
 *                 (the host then reports a pull: Events Pulling/Pulled, a waiting message);
 *                 absent counts as true. A dry run that fails with SYSTEMK_ERR_NOT_FOUND or
 *                 SYSTEMK_ERR_TRANSIENT (e.g. busy with another transaction: a dry run should
 *                 not wait for one) also makes the host treat the real call as a pull.
 *
 * release(request_json, error): no pod on this node uses the image any more (same request
 *   format, without "container"). A resolver may remove what it installed. Idempotent.
 * ------------------------------------------------------------------------------------------- */
typedef struct systemk_resolver_ops {
    uint32_t struct_size;
    int (*claim)(void *instance, const char *image);
    systemk_status (*resolve)(void *instance, const char *request_json, systemk_output *result,
                              systemk_output *error);
    systemk_status (*release)(void *instance, const char *request_json, systemk_output *error);
} systemk_resolver_ops;

/* ---------------------------------------------------------------------------------------------
 * Volume handlers: make a pod volume exist as a directory the host bind-mounts into units.
 *
 * prepare(request_json, result, error): create or refresh the volume.
 *   request: {"pod": {"namespace","name","uid"},
 *             "volume": <the v1.Volume as JSON: {"name": ..., "<type>": {...}}>,
 *             "type": "<the volume source key, e.g. emptyDir>",
 *             "directory": "<a per-pod, per-volume directory the host chose (on tmpfs for
 *                            secret and projected volumes and emptyDir medium Memory); its
 *                            parents exist, 0700 root; the plugin may use it or point elsewhere>",
 *             "uid": <the pod's user id or -1>, "gid": <its group id or -1>,
 *             "fsGroup": bool — gid is the pod's fsGroup (group-writable emptyDir, as the kubelet),
 *             "dryRun": bool — only report the path that would be used; change nothing,
 *             and, resolved by the host (values are base64 of the bytes):
 *             configMap, secret: "data": {"<key>": "<base64>"} — the object's content, and
 *                 "absent": bool — the object does not exist and the source is optional ("data"
 *                 is then empty);
 *             downwardAPI: "data": {"<path>": "<base64 of the field's value>"}, and the volume's
 *                 "downwardAPI.items" replaced by [{"key": <path>, "path": <path>, "mode"?}];
 *             projected: "sources": [{"data": {...}, "items": [{"key","path","mode"?}]}], one per
 *                 source in order: a configMap or secret (an absent optional one is left out), a
 *                 downwardAPI (keyed by path, as above), a serviceAccountToken
 *                 ({"data": {"token": <base64 of a TokenRequest token bound to the pod>},
 *                   "items": [{"key": "token", "path": <its path>}]}).}
 *   result: {"path": "/abs/dir/or/file", "readOnly": bool}
 *   Called once before the pod's containers start, and for configMap, secret, downwardAPI and
 *   projected volumes again while they run whenever an input changes (an object edited, a token
 *   renewed, the pod's labels or annotations changed). A reader in the pod must never see a mix
 *   of two versions: the built-in plugin writes each version into a new "..<time>" directory and
 *   swaps one "..data" symlink to it; the names containers open are symlinks through "..data"
 *   (the kubelet's AtomicWriter layout). subPath mounts keep the version they were made from.
 *
 * cleanup(request_json, error): the pod is gone; remove what prepare made. Idempotent.
 *   request: {"pod", "volume", "type", "directory"} — as for the last prepare of that volume,
 *   without the resolved content and ownership. The host records these requests (never the
 *   content) when it prepares, so cleanup is also called for pods deleted while it was down.
 *   It calls cleanup after it has unmounted and removed the pod's own directories, so
 *   "directory" is usually gone already; a plugin removes what it made elsewhere.
 * ------------------------------------------------------------------------------------------- */
typedef struct systemk_volume_ops {
    uint32_t struct_size;
    systemk_status (*prepare)(void *instance, const char *request_json, systemk_output *result,
                              systemk_output *error);
    systemk_status (*cleanup)(void *instance, const char *request_json, systemk_output *error);
} systemk_volume_ops;

/* The descriptor a plugin returns from systemk_plugin_entry; static storage in the plugin. */
typedef struct systemk_plugin {
    uint32_t struct_size;
    uint16_t abi_major; /* SYSTEMK_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor; /* SYSTEMK_ABI_MINOR the plugin was built with */
    uint32_t kind;      /* a systemk_plugin_kind */
    const char *name;   /* short, unique, [a-z0-9-]: "pkg-apt" */
    const char *version;
    const char *description;
    /* NULL-terminated list of what it handles, for people and `systemk plugins`:
     * image forms ("name[:version]", "https://", "/absolute/path") or volume types ("emptyDir"). */
    const char *const *handles;

    /* Called once before any operation. *instance is passed to every operation and to fini.
     * May be NULL. Returns SYSTEMK_OK or an error (the plugin is then not used). */
    systemk_status (*init)(const systemk_host *host, void **instance, systemk_output *error);
    /* Called once at shutdown. May be NULL. */
    void (*fini)(void *instance);

    /* Exactly the table matching `kind` is non-NULL. */
    const systemk_resolver_ops *resolver;
    const systemk_volume_ops *volume;
} systemk_plugin;

typedef const systemk_plugin *(*systemk_plugin_entry_fn)(const systemk_host *host);

/* Plugins define this function (C linkage, default visibility). */
SYSTEMK_EXPORT const systemk_plugin *systemk_plugin_entry(const systemk_host *host);

/* Helper for plugins: append a NUL-terminated string to an output. */
static inline void systemk_output_puts(systemk_output *out, const char *text)
{
    size_t n = 0;
    if (out == NULL || out->write == NULL || text == NULL) {
        return;
    }
    while (text[n] != '\0') {
        ++n;
    }
    out->write(out->ctx, text, n);
}

#ifdef __cplusplus
}
#endif

#endif /* SYSTEMK_PLUGIN_H */
