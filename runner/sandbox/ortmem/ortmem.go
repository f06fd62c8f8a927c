// Package ortmem reads ONNX Runtime's arena statistics for a session: the
// peak of memory the session's allocator had in use (OrtApi
// AllocatorGetStats, "MaxInUse"). On the CUDA execution provider this is
// the GPU memory peak of the BFC arena (the counterpart of the challenges'
// torch.cuda.max_memory_allocated; the CUDA context and the cuDNN/cuBLAS
// handles are not in it); on the CPU it is the CPU arena's.
//
// onnxruntime_go does not expose AllocatorGetStats and keeps its OrtApi
// pointer and session pointers to itself (ort.md §3), so this package
// finds the already loaded library by name (dlopen RTLD_NOLOAD: no file is
// opened, which matters inside the sandbox), takes the OrtApi from it, and
// reads the session pointer out of the binding's session value.
package ortmem

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Indices of the OrtApi entries used, in function pointers from the start
// of the struct. OrtApi is append-only (entries are never moved, and
// GetApi(v) hands out the same table), so these hold for every library
// that serves API version 23, where AllocatorGetStats appeared. Computed
// with offsetof from onnxruntime_c_api.h (API 24, onnxruntime_go v1.27.0).
enum {
	API_VERSION = 23,
	I_GetErrorMessage = 2,
	I_CreateMemoryInfo = 68,
	I_ReleaseStatus = 93,
	I_ReleaseMemoryInfo = 94,
	I_CreateAllocator = 131,
	I_ReleaseAllocator = 132,
	I_GetKeyValuePairs = 298,
	I_ReleaseKeyValuePairs = 300,
	I_AllocatorGetStats = 319,
};

typedef void *(*get_api_base_fn)(void);
typedef void *(*get_api_fn)(uint32_t);
typedef const char *(*get_error_message_fn)(void *);
typedef void (*release_fn)(void *);
typedef void *(*create_memory_info_fn)(const char *, int, int, int, void **);
typedef void *(*create_allocator_fn)(const void *, const void *, void **);
typedef void *(*allocator_get_stats_fn)(const void *, void **);
typedef void (*get_kvps_fn)(const void *, const char *const **, const char *const **, size_t *);

static int status_error(void **api, void *st, char *err, size_t errlen, const char *what) {
	if (!st) return 0;
	snprintf(err, errlen, "%s: %s", what, ((get_error_message_fn)api[I_GetErrorMessage])(st));
	((release_fn)api[I_ReleaseStatus])(st);
	return -1;
}

// arena_stats writes up to max keys and values of the stats of session's
// allocator for memory mem_name ("Cpu", "Cuda") on device into buf as
// "key=value\n" lines. 0 on success.
static int arena_stats(const char *lib, void *session, const char *mem_name, int device, char *buf, size_t buflen, char *err, size_t errlen) {
	void *h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
	if (!h) h = dlopen(lib, RTLD_LAZY);
	if (!h) {
		snprintf(err, errlen, "dlopen %s: %s", lib, dlerror());
		return -1;
	}
	int rc = -1;
	get_api_base_fn base_fn = (get_api_base_fn)dlsym(h, "OrtGetApiBase");
	void **base = base_fn ? (void **)base_fn() : NULL;
	void **api = base ? (void **)((get_api_fn)base[0])(API_VERSION) : NULL;
	void *mi = NULL, *alloc = NULL, *kv = NULL;
	if (!api) {
		snprintf(err, errlen, "ONNX Runtime serves no API version %d", API_VERSION);
		goto out;
	}
	if (status_error(api, ((create_memory_info_fn)api[I_CreateMemoryInfo])(mem_name, 1 , device, 0 , &mi), err, errlen, "CreateMemoryInfo")) goto out;
	if (status_error(api, ((create_allocator_fn)api[I_CreateAllocator])(session, mi, &alloc), err, errlen, "CreateAllocator")) goto out;
	if (status_error(api, ((allocator_get_stats_fn)api[I_AllocatorGetStats])(alloc, &kv), err, errlen, "AllocatorGetStats")) goto out;
	const char *const *keys = NULL, *const *vals = NULL;
	size_t n = 0;
	((get_kvps_fn)api[I_GetKeyValuePairs])(kv, &keys, &vals, &n);
	buf[0] = 0;
	size_t used = 0;
	for (size_t i = 0; i < n && used < buflen; i++) {
		int w = snprintf(buf + used, buflen - used, "%s=%s\n", keys[i], vals[i]);
		if (w < 0) break;
		used += (size_t)w;
	}
	rc = 0;
out:
	if (kv) ((release_fn)api[I_ReleaseKeyValuePairs])(kv);
	if (alloc) ((release_fn)api[I_ReleaseAllocator])(alloc);
	if (mi) ((release_fn)api[I_ReleaseMemoryInfo])(mi);
	dlclose(h);
	return rc;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// Stats are an allocator's statistics, bytes. The keys ORT reports vary
// with the allocator; all of them are in All. An allocator without an
// arena (SetCpuMemArena(false)) reports none: MaxInUse is then -1.
type Stats struct {
	MaxInUse, InUse, TotalAllocated, Limit int64
	All                                    map[string]string
}

// Memory names of ORT's allocators (OrtMemoryInfo names).
const (
	MemCPU  = "Cpu"
	MemCUDA = "Cuda"
)

// ArenaStats returns the statistics of the allocator that session uses for
// memory mem (MemCPU, MemCUDA) on device, the session having been created
// by onnxruntime_go from the library at lib (the path given to
// ort.SetSharedLibraryPath).
func ArenaStats(lib string, session *ort.DynamicAdvancedSession, mem string, device int) (Stats, error) {
	p, err := sessionPointer(session)
	if err != nil {
		return Stats{}, err
	}
	clib, cmem := C.CString(lib), C.CString(mem)
	defer C.free(unsafe.Pointer(clib))
	defer C.free(unsafe.Pointer(cmem))
	buf := make([]byte, 4096)
	ebuf := make([]byte, 512)
	rc := C.arena_stats(clib, p, cmem, C.int(device), (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)),
		(*C.char)(unsafe.Pointer(&ebuf[0])), C.size_t(len(ebuf)))
	if rc != 0 {
		return Stats{}, fmt.Errorf("ortmem: %s", C.GoString((*C.char)(unsafe.Pointer(&ebuf[0]))))
	}
	return parse(C.GoString((*C.char)(unsafe.Pointer(&buf[0])))), nil
}

// parse reads "key=value" lines.
func parse(s string) Stats {
	st := Stats{MaxInUse: -1, InUse: -1, TotalAllocated: -1, Limit: -1, All: map[string]string{}}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		st.All[k] = v
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "MaxInUse":
			st.MaxInUse = n
		case "InUse":
			st.InUse = n
		case "TotalAllocated":
			st.TotalAllocated = n
		case "Limit":
			st.Limit = n
		}
	}
	return st
}

// sessionPointer is the OrtSession* inside an onnxruntime_go session
// (DynamicAdvancedSession.s.ortSession in v1.27; checked, so a binding
// that moves it is an error, not a crash).
func sessionPointer(s *ort.DynamicAdvancedSession) (unsafe.Pointer, error) {
	if s == nil {
		return nil, errors.New("ortmem: nil session")
	}
	v := reflect.ValueOf(s).Elem()
	inner := v.FieldByName("s")
	if !inner.IsValid() || inner.Kind() != reflect.Pointer || inner.IsNil() {
		return nil, errors.New("ortmem: onnxruntime_go's session layout changed (no field s)")
	}
	f := inner.Elem().FieldByName("ortSession")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
		return nil, errors.New("ortmem: onnxruntime_go's session layout changed (no field ortSession)")
	}
	return f.UnsafePointer(), nil
}
