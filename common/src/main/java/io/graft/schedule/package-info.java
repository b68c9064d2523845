/**
 * Learning-rate schedules with linear warm-up ({@link io.graft.schedule.LrSchedule}: constant,
 * step, cosine and one-cycle), as DL4J {@code ISchedule}s. A schedule lives inside each layer's
 * updater, so it travels to the workers in the model's JSON and follows the averaged iteration
 * count. Spark-free.
 */
package io.graft.schedule;
