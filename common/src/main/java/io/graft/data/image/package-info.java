/**
 * Image files to Graft rows: decoding (PNG, JPEG including CMYK and progressive, GIF, BMP, 16-bit
 * PNG, EXIF orientation), channel conversion and resizing to one {@code [C, H, W]} shape, on any JVM
 * (the importer calls it on Spark executors).
 */
package io.graft.data.image;
