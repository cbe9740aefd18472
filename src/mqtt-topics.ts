/**
 * MQTT topic names and the filters this service uses (MQTT 5.0 §4.7): levels split by `/`; in
 * a filter `+` stands for one level. Neither of our filters holds `#` (config refuses it).
 */

/** Whether the topic name `topic` matches the filter `filter` (no `#`). */
export function topicMatches(filter: string, topic: string): boolean {
  const wanted = filter.split('/');
  const levels = topic.split('/');
  return wanted.length === levels.length && wanted.every((level, index) => level === '+' || level === levels[index]);
}

/** Whether some topic name matches both filters (no `#`): level by level, equal or either one `+`. */
export function filtersOverlap(first: string, second: string): boolean {
  const a = first.split('/');
  const b = second.split('/');
  return a.length === b.length && a.every((level, index) => level === '+' || b[index] === '+' || level === b[index]);
}

/** The topic of one model's alert events: MQTT_ALERTS_TOPIC with `{sensor_id}` and `{metric}` replaced. */
export function alertsTopicOf(template: string, sensorId: string, metric: string): string {
  return template.replaceAll('{sensor_id}', sensorId).replaceAll('{metric}', metric);
}

/** The filter every topic alertsTopicOf gives matches: each level holding a placeholder becomes `+`. */
export function alertsTopicFilter(template: string): string {
  return template
    .split('/')
    .map((level) => (level.includes('{sensor_id}') || level.includes('{metric}') ? '+' : level))
    .join('/');
}

/** The MQTT 5 user property of an alert event naming the database whose state it tells (WeightsStorage.databaseId). */
export const DATABASE_ID_PROPERTY = 'database_id';

/** The largest MQTT 5 Subscription Identifier (a Variable Byte Integer, MQTT 5.0 §3.8.2.1.2). */
const MAX_SUBSCRIPTION_IDENTIFIER = 268_435_455;

/**
 * The MQTT 5 Subscription Identifier this service gives its subscription to `filter`: 1 to
 * 268,435,455, the same for the same filter at every start (FNV-1a of its UTF-8 bytes), so a
 * message brought by a subscription to another filter (one an earlier configuration left in
 * the persistent session) can be told apart.
 */
export function subscriptionIdentifierOf(filter: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(filter, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return (hash % MAX_SUBSCRIPTION_IDENTIFIER) + 1;
}
