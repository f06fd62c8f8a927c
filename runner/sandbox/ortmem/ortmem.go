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
	I_SessionGetInputCount = 30,
	I_SessionGetOutputCount = 31,
	I_SessionGetInputTypeInfo = 33,
	I_SessionGetOutputTypeInfo = 34,
	I_SessionGetInputName = 36,
	I_SessionGetOutputName = 37,
	I_CastTypeInfoToTensorInfo = 55,
	I_GetOnnxTypeFromTypeInfo = 56,
	I_GetTensorElementType = 60,
	I_AllocatorFree = 76,
	I_GetAllocatorWithDefaultOptions = 78,
	I_ReleaseTypeInfo = 98,
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

// ort_api opens the already loaded library (RTLD_NOLOAD first: no file is
// opened) and returns its OrtApi, the handle in *h for dlclose; NULL with
// err set otherwise (*h then needs dlclose when not NULL).
static void **ort_api(const char *lib, void **h, char *err, size_t errlen) {
	*h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
	if (!*h) *h = dlopen(lib, RTLD_LAZY);
	if (!*h) {
		snprintf(err, errlen, "dlopen %s: %s", lib, dlerror());
		return NULL;
	}
	get_api_base_fn base_fn = (get_api_base_fn)dlsym(*h, "OrtGetApiBase");
	void **base = base_fn ? (void **)base_fn() : NULL;
	void **api = base ? (void **)((get_api_fn)base[0])(API_VERSION) : NULL;
	if (!api) snprintf(err, errlen, "ONNX Runtime serves no API version %d", API_VERSION);
	return api;
}

typedef void *(*count_fn)(const void *, size_t *);
typedef void *(*type_info_fn)(const void *, size_t, void **);
typedef void *(*name_fn)(const void *, size_t, void *, char **);
typedef void *(*cast_fn)(const void *, const void **);
typedef void *(*int_out_fn)(const void *, int *);
typedef void *(*get_allocator_fn)(void **);
typedef void *(*allocator_free_fn)(void *, void *);

// session_io writes the number of the session's inputs (output = 0) or
// outputs (1) to *n and, for up to max of them, their names into names
// (NUL-separated, namelen bytes in all), their ONNXType into onnx_type and,
// for tensors, their element type into elem_type (0 otherwise). 0 on
// success.
static int session_io(const char *lib, void *session, int output, size_t *n, char *names, size_t namelen,
		int *onnx_type, int *elem_type, size_t max, char *err, size_t errlen) {
	void *h = NULL;
	int rc = -1;
	void **api = ort_api(lib, &h, err, errlen);
	void *alloc = NULL;
	if (!api) goto out;
	if (status_error(api, ((get_allocator_fn)api[I_GetAllocatorWithDefaultOptions])(&alloc), err, errlen, "GetAllocatorWithDefaultOptions")) goto out;
	if (status_error(api, ((count_fn)api[output ? I_SessionGetOutputCount : I_SessionGetInputCount])(session, n), err, errlen, "SessionGetCount")) goto out;
	size_t used = 0;
	for (size_t i = 0; i < *n && i < max; i++) {
		char *name = NULL;
		if (status_error(api, ((name_fn)api[output ? I_SessionGetOutputName : I_SessionGetInputName])(session, i, alloc, &name), err, errlen, "SessionGetName")) goto out;
		size_t l = strlen(name);
		if (used + l + 1 > namelen) {
			((allocator_free_fn)api[I_AllocatorFree])(alloc, name);
			snprintf(err, errlen, "names longer than %zu bytes", namelen);
			goto out;
		}
		memcpy(names + used, name, l + 1);
		used += l + 1;
		((allocator_free_fn)api[I_AllocatorFree])(alloc, name);
		void *ti = NULL;
		if (status_error(api, ((type_info_fn)api[output ? I_SessionGetOutputTypeInfo : I_SessionGetInputTypeInfo])(session, i, &ti), err, errlen, "SessionGetTypeInfo")) goto out;
		int t = 0, et = 0;
		int bad = status_error(api, ((int_out_fn)api[I_GetOnnxTypeFromTypeInfo])(ti, &t), err, errlen, "GetOnnxTypeFromTypeInfo");
		const void *tsi = NULL;
		if (!bad && t == 1 && !(bad = status_error(api, ((cast_fn)api[I_CastTypeInfoToTensorInfo])(ti, &tsi), err, errlen, "CastTypeInfoToTensorInfo")) && tsi)
			bad = status_error(api, ((int_out_fn)api[I_GetTensorElementType])(tsi, &et), err, errlen, "GetTensorElementType");
		((release_fn)api[I_ReleaseTypeInfo])(ti);
		if (bad) goto out;
		onnx_type[i] = t;
		elem_type[i] = et;
	}
	rc = 0;
out:
	if (h) dlclose(h);
	return rc;
}

// arena_stats writes up to max keys and values of the stats of session's
// allocator for memory mem_name ("Cpu", "Cuda") on device into buf as
// "key=value\n" lines. 0 on success.
static int arena_stats(const char *lib, void *session, const char *mem_name, int device, char *buf, size_t buflen, char *err, size_t errlen) {
	void *h = NULL;
	int rc = -1;
	void **api = ort_api(lib, &h, err, errlen);
	void *mi = NULL, *alloc = NULL, *kv = NULL;
	if (!api) goto out;
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
	if (h) dlclose(h);
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

// IO is one of a session's inputs or outputs as ONNX Runtime has it.
type IO struct {
	Name string
	// ONNXType is ORT's ONNXType (1: tensor); ElemType, for a tensor, its
	// ONNXTensorElementDataType (1: float32), 0 otherwise.
	ONNXType, ElemType int
}

// Tensor types of IO.
const (
	ONNXTypeTensor  = 1
	ElemTypeFloat32 = 1
	maxIO           = 16
	maxIONamesBytes = 64 << 10
)

// SessionIO returns the inputs and outputs of session as ONNX Runtime sees
// them (after the model was loaded: initializers are not inputs), the
// session having been created by onnxruntime_go from the library at lib.
// Only the first 16 of each are described; the counts are the whole.
func SessionIO(lib string, session *ort.DynamicAdvancedSession) (ins, outs []IO, nIn, nOut int, err error) {
	p, err := sessionPointer(session)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	clib := C.CString(lib)
	defer C.free(unsafe.Pointer(clib))
	side := func(output int) ([]IO, int, error) {
		var n C.size_t
		names := make([]byte, maxIONamesBytes)
		types := make([]C.int, maxIO)
		elems := make([]C.int, maxIO)
		ebuf := make([]byte, 512)
		rc := C.session_io(clib, p, C.int(output), &n, (*C.char)(unsafe.Pointer(&names[0])), C.size_t(len(names)),
			&types[0], &elems[0], maxIO, (*C.char)(unsafe.Pointer(&ebuf[0])), C.size_t(len(ebuf)))
		if rc != 0 {
			return nil, 0, fmt.Errorf("ortmem: %s", C.GoString((*C.char)(unsafe.Pointer(&ebuf[0]))))
		}
		out := make([]IO, min(int(n), maxIO))
		rest := names
		for i := range out {
			end := 0
			for end < len(rest) && rest[end] != 0 {
				end++
			}
			out[i] = IO{Name: string(rest[:end]), ONNXType: int(types[i]), ElemType: int(elems[i])}
			rest = rest[min(end+1, len(rest)):]
		}
		return out, int(n), nil
	}
	if ins, nIn, err = side(0); err != nil {
		return nil, nil, 0, 0, err
	}
	if outs, nOut, err = side(1); err != nil {
		return nil, nil, 0, 0, err
	}
	return ins, outs, nIn, nOut, nil
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
