// The table of live C API handles (dde_task *, dde_policy *, dde_store *, dde_client *).
//
// A handle given to C is not the address of anything: it is a number that names a slot of this
// table and the generation of that slot. Every entry point looks the number up here before it
// touches the object, so a handle that was freed or closed (its slot moved on to another
// generation), a handle of another type, or any other pointer value is recognised and refused
// without reading memory through it: a double free or a use after close is a status code, not a
// crash in the host firmware.
//
// Layout on 64-bit targets: bits 63-56 a tag (0xDD: bit 63 set, so a handle is never a user-space
// address on Linux), 55-52 the kind, 51-24 the generation (never 0), 23-0 the slot index. A slot
// whose generation is exhausted is retired, never reused, so a stale handle cannot come back to
// life. 32-bit targets use 4/4/12/12 bits.
#include "cdde.h"
#include <pthread.h>

#if UINTPTR_MAX > 0xFFFFFFFFu
#define TAG_SHIFT 56
#define TAG ((uintptr_t)0xDD)
#define KIND_SHIFT 52
#define GEN_SHIFT 24
#define GEN_BITS 28
#define INDEX_BITS 24
#else
#define TAG_SHIFT 28
#define TAG ((uintptr_t)0xD)
#define KIND_SHIFT 24
#define GEN_SHIFT 12
#define GEN_BITS 12
#define INDEX_BITS 12
#endif
#define GEN_MAX ((((uintptr_t)1) << GEN_BITS) - 1)
#define INDEX_MAX ((((uintptr_t)1) << INDEX_BITS) - 1)

typedef struct slot {
    void *object;        // NULL when free
    uint32_t generation; // of the handle that holds (or last held) the slot
    int kind;
    uint32_t next_free;  // index + 1 of the next free slot, 0 for none
} slot;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slot *slots;
static size_t count, capacity;
static uint32_t first_free; // index + 1, 0 for none

void cdde_handles_lock(void) { pthread_mutex_lock(&lock); }
void cdde_handles_unlock(void) { pthread_mutex_unlock(&lock); }

uintptr_t cdde_handle_add(void *object, int kind) {
    if (object == NULL || kind < 1 || kind > 15) return 0;
    uintptr_t handle = 0;
    pthread_mutex_lock(&lock);
    size_t index;
    if (first_free != 0) {
        index = first_free - 1;
        first_free = slots[index].next_free;
        slots[index].generation += 1; // a freed slot's generation stays below GEN_MAX
    } else {
        if (count > INDEX_MAX) goto done;
        if (count == capacity) {
            size_t grown = capacity == 0 ? 64 : capacity * 2;
            slot *bigger = realloc(slots, grown * sizeof *slots);
            if (bigger == NULL) goto done;
            slots = bigger;
            capacity = grown;
        }
        index = count++;
        slots[index].generation = 1;
    }
    slots[index].object = object;
    slots[index].kind = kind;
    slots[index].next_free = 0;
    handle = TAG << TAG_SHIFT | (uintptr_t)kind << KIND_SHIFT | (uintptr_t)slots[index].generation << GEN_SHIFT |
             (uintptr_t)index;
done:
    pthread_mutex_unlock(&lock);
    return handle;
}

// The slot a handle of `kind` names, or NULL with *status 1 (closed) or 2 (not a handle of that
// kind). Call with the lock held.
static slot *find(uintptr_t handle, int kind, int *status) {
    *status = 2;
    if (handle >> TAG_SHIFT != TAG || (int)(handle >> KIND_SHIFT & 0xF) != kind) return NULL;
    uintptr_t generation = handle >> GEN_SHIFT & GEN_MAX, index = handle & INDEX_MAX;
    if (generation == 0 || index >= count) return NULL;
    slot *s = &slots[index];
    if (s->object == NULL || s->generation != generation || s->kind != kind) {
        // A generation this slot has had (or has yet to reach): most likely a handle that was
        // freed. A never-issued number with our tag is vanishingly rare.
        *status = 1;
        return NULL;
    }
    *status = 0;
    return s;
}

void *cdde_handle_find_locked(uintptr_t handle, int kind, int *status) {
    slot *s = find(handle, kind, status);
    return s == NULL ? NULL : s->object;
}

void *cdde_handle_remove(uintptr_t handle, int kind, int *status) {
    pthread_mutex_lock(&lock);
    slot *s = find(handle, kind, status);
    void *object = NULL;
    if (s != NULL) {
        object = s->object;
        s->object = NULL;
        // Back on the free list unless its generations are used up: a retired slot is never
        // handed out again, so no old handle can name a new object.
        if (s->generation < GEN_MAX) {
            s->next_free = first_free;
            first_free = (uint32_t)(s - slots) + 1;
        }
    }
    pthread_mutex_unlock(&lock);
    return object;
}
