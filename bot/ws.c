/* ws.c — placeholder until chan_websocket media lands. */
#include "log.h"
#include "bot.h"

void ws_init(void) {}
void ws_shutdown(void) {}
void ws_send_audio(struct ws_conn *c, const uint8_t *p, size_t n)
{ (void)c; (void)p; (void)n; }
void ws_send_text(struct ws_conn *c, const char *t) { (void)c; (void)t; }
void ws_detach(struct ws_conn *c) { (void)c; }
