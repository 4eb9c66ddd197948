/* trim_addon.c: a tiny Node-API addon exposing glibc's malloc_trim(0) to the ONNX Runtime
 * arms of the benchmark, so they can do what the original's fix did on unload (release the
 * session, then malloc_trim) and the comparison with ours is like for like.
 * trim() returns 1 if memory was released, 0 if not. Built by bench/ml/run.sh.
 */
#include <malloc.h>
#include <node_api.h>

static napi_value trim(napi_env env, napi_callback_info info)
{
    (void)info;
    napi_value r;
    napi_create_int32(env, malloc_trim(0), &r);
    return r;
}

static napi_value init(napi_env env, napi_value exports)
{
    napi_value fn;
    napi_create_function(env, "trim", NAPI_AUTO_LENGTH, trim, NULL, &fn);
    napi_set_named_property(env, exports, "trim", fn);
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
