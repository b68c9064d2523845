/** Datasets back out as files others read: image folders, path lists and image tables. */
package io.graft.jobs.export;
