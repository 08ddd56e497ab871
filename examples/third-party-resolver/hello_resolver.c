/* Example third-party image resolver: "hello:WORD" runs /bin/echo WORD. */
#include <string.h>

#include <systemk/plugin.h>

static const systemk_host *host;

static int claim(void *instance, const char *image)
{
    (void)instance;
    return strncmp(image, "hello:", 6) == 0 ? 100 : 0;
}

/* The request is JSON; this example only needs the image, which it finds by its key. */
static systemk_status resolve(void *instance, const char *request, systemk_output *result, systemk_output *error)
{
    const char *image = strstr(request, "\"image\":\"hello:");
    const char *word, *end;
    (void)instance;
    if (image == NULL) {
        systemk_output_puts(error, "hello-resolver: no hello: image in the request");
        return SYSTEMK_ERR_INVALID;
    }
    word = image + strlen("\"image\":\"hello:");
    end = strchr(word, '"');
    if (end == NULL || end == word) {
        systemk_output_puts(error, "hello-resolver: empty word");
        return SYSTEMK_ERR_INVALID;
    }
    systemk_output_puts(result, "{\"execStart\":[\"/bin/echo\",\"");
    result->write(result->ctx, word, (size_t)(end - word));
    systemk_output_puts(result, "\"]}");
    if (host != NULL && host->log != NULL) {
        host->log(host->ctx, SYSTEMK_LOG_DEBUG, "resolved a hello image");
    }
    return SYSTEMK_OK;
}

static systemk_status release(void *instance, const char *request, systemk_output *error)
{
    (void)instance;
    (void)request;
    (void)error;
    return SYSTEMK_OK;
}

static const systemk_resolver_ops ops = {sizeof(systemk_resolver_ops), claim, resolve, release};
static const char *const handles[] = {"hello:WORD", NULL};
static const systemk_plugin plugin = {
    sizeof(systemk_plugin), SYSTEMK_ABI_MAJOR, SYSTEMK_ABI_MINOR, SYSTEMK_KIND_IMAGE_RESOLVER,
    "hello-resolver", "1.0.0", "example third-party resolver",
    handles, NULL, NULL, &ops, NULL};

SYSTEMK_EXPORT const systemk_plugin *systemk_plugin_entry(const systemk_host *h)
{
    host = h;
    return &plugin;
}
