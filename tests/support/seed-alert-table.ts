const VEL = ['params.velRMS.x', 'params.velRMS.y', 'params.velRMS.z'];
const ACCEL = ['params.accelRMS.x', 'params.accelRMS.y', 'params.accelRMS.z'];

// Transcribed from the case's facts (shared/seed/README.md): the draft's table for 0.09,
// every sensor in alert on all velRMS columns; T/F for accelRMS x, y, z.
const ACCEL_ALERTS: Record<string, string> = {
  IAJ9206: 'TFT',
  LZY4270: 'TTT',
  MUR8453: 'TTT',
  MXK6435: 'TTT',
  MYD8706: 'FFF',
  MYS2071: 'TTF',
  MZU6388: 'TTF',
  NAH4736: 'FFF',
  NAI1549: 'TTT',
  NEW4797: 'FFF',
};

export const SEED_ALERT_TABLE_AT_0_09: Record<string, Record<string, boolean>> = Object.fromEntries(
  Object.entries(ACCEL_ALERTS).map(([sensor, accel]) => [
    sensor,
    {
      ...Object.fromEntries(VEL.map((column) => [column, true])),
      ...Object.fromEntries(ACCEL.map((column, index) => [column, accel[index] === 'T'])),
    },
  ]),
);
