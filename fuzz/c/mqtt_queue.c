// mqtt: the MQTT shim's message path (Sources/CDDE/cdde_mqtt.c) without a broker: what
// libmosquitto's network thread hands to on_message (a topic and a payload) is copied into the
// bounded receive queue, and cdde_mqtt_receive / cdde_mqtt_take_notice / cdde_mqtt_stats take
// it out. The shim is included whole so that the harness reaches its static callback and builds
// a handle without connecting; nothing in the shim changes for it (libmosquitto is never
// loaded: the message path does not call it).
//
// The input is a program: 3 bytes of queue limits, then operations. The harness keeps its own
// model of the queue (what must be accepted, in what order) and aborts when the shim disagrees,
// so a wrong count or a lost or reordered message is a finding, not only a memory error.
//
// Built by scripts/fuzz.sh with clang -fsanitize=fuzzer,address,undefined.
#include "../../Sources/CDDE/cdde_mqtt.c"

#include <assert.h>

#define MODEL_MAX 64

typedef struct {
    char topic[300];
    uint8_t payload[1024];
    size_t length;
} model_message;

static model_message model[MODEL_MAX];
static size_t model_first, model_count, model_bytes;

static void fail(const char *what) {
    fprintf(stderr, "fuzz invariant: %s\n", what);
    abort();
}

static cdde_mqtt *detached_handle(size_t max_message, size_t max_messages, size_t max_bytes) {
    // What cdde_mqtt_open sets up before it connects.
    cdde_mqtt *m = calloc(1, sizeof *m);
    if (m == NULL) abort();
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->arrived, NULL);
    pthread_cond_init(&m->changed, NULL);
    m->max_message_bytes = max_message;
    m->max_queued_messages = max_messages;
    m->max_queued_bytes = max_bytes;
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    // Limits small enough that the fuzzer reaches every refusal.
    size_t max_message = (size_t)data[0] * 4;          // 0..1020 bytes
    size_t max_messages = 1 + data[1] % MODEL_MAX;     // 1..64
    size_t max_bytes = (size_t)data[2] * 16;           // 0..4080 bytes
    cdde_mqtt *m = detached_handle(max_message, max_messages, max_bytes);
    model_first = model_count = model_bytes = 0;
    uint64_t dropped = 0;
    size_t i = 3;
    while (i < size) {
        uint8_t op = data[i++];
        switch (op % 4) {
        case 0: { // a message arrives: topic length, topic, payload length (2 bytes, may lie), payload
            if (i + 3 > size) break;
            size_t topic_length = data[i++] % 200;
            int null_topic = topic_length == 199;
            if (i + topic_length > size) topic_length = size - i;
            char topic[200];
            memcpy(topic, data + i, topic_length);
            topic[topic_length] = '\0';
            i += topic_length;
            if (i + 2 > size) break;
            int claimed = (int)(data[i] | data[i + 1] << 8) - 16; // a negative length too
            i += 2;
            size_t available = size - i;
            size_t take = claimed > 0 ? (size_t)claimed : 0;
            if (take > available) take = available;
            // libmosquitto hands over a heap copy of exactly payloadlen bytes: so does the harness.
            uint8_t *payload = take > 0 ? malloc(take) : NULL;
            if (take > 0) memcpy(payload, data + i, take);
            i += take;
            struct mosquitto_message msg = {0};
            msg.topic = null_topic ? NULL : topic;
            msg.payload = payload;
            msg.payloadlen = claimed > 0 ? (int)take : claimed;
            on_message(NULL, m, &msg);
            free(payload);
            // The model: dropped when too large or when the queue is full.
            const char *t = null_topic ? "" : topic;
            if (take > max_message || model_count >= max_messages || model_bytes + take > max_bytes) {
                dropped++;
            } else {
                if (model_count >= MODEL_MAX) fail("model overflow");
                model_message *slot = &model[(model_first + model_count) % MODEL_MAX];
                snprintf(slot->topic, sizeof slot->topic, "%s", t);
                memcpy(slot->payload, data + i - take, take);
                slot->length = take;
                model_count++;
                model_bytes += take;
            }
            break;
        }
        case 1: { // the receiver takes one
            cdde_mqtt_message *got = cdde_mqtt_receive(m, 0);
            if (model_count == 0) {
                if (got != NULL) fail("a message came out of an empty queue");
                break;
            }
            if (got == NULL) fail("a queued message did not come out");
            model_message *want = &model[model_first];
            if (strcmp(got->topic, want->topic) != 0) fail("topic changed in the queue");
            if (got->length != want->length) fail("payload length changed in the queue");
            if (got->length > 0 && memcmp(got->payload, want->payload, got->length) != 0) fail("payload changed in the queue");
            if (got->next != NULL) fail("a taken message still points into the queue");
            cdde_mqtt_message_free(got);
            model_first = (model_first + 1) % MODEL_MAX;
            model_count--;
            model_bytes -= want->length;
            break;
        }
        case 2: { // the receiver reads a notice into a buffer of some size
            if (i >= size) break;
            size_t capacity = data[i++];
            char buffer[256];
            int got = cdde_mqtt_take_notice(m, capacity ? buffer : NULL, capacity);
            if (got && capacity && strnlen(buffer, capacity) >= capacity) fail("notice not terminated");
            break;
        }
        default: { // counters
            cdde_mqtt_counters c;
            cdde_mqtt_stats(m, &c);
            if (c.queued_messages != model_count) fail("queued_messages disagrees with the queue");
            if (c.dropped != dropped) fail("dropped disagrees with the messages refused");
            break;
        }
        }
    }
    if (m->queued_bytes != model_bytes) fail("queued_bytes disagrees with the queue");
    free_handle(m);
    return 0;
}
