/** The six vibration columns of the case's readings file that the draft learns, in its order. */
export const VIBRATION_METRICS: readonly string[] = [
  'params.velRMS.x',
  'params.velRMS.y',
  'params.velRMS.z',
  'params.accelRMS.x',
  'params.accelRMS.y',
  'params.accelRMS.z',
];
