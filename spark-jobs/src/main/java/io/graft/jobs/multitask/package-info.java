/**
 * {@code graft multitask}: {@link io.graft.jobs.multitask.MultitaskJob} trains one shared trunk
 * with one head per task on a weighted sum of the tasks' losses, on Graft's own averaging;
 * {@link io.graft.jobs.multitask.MultitaskConfig} sets the tasks, how minibatches sample them and
 * how their losses are weighted (fixed or learned uncertainty weights). The job writes the graph
 * with every head and each task as a plain single-task DL4J model.
 */
package io.graft.jobs.multitask;
