package io.graft.cli;

import io.graft.config.ConfigException;
import io.graft.data.image.ImageEncoder.Encoding;
import io.graft.jobs.SparkOptions;
import io.graft.jobs.export.ImageExportJob;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "export-images", mixinStandardHelpOptions = true,
    description = {"Writes an image dataset's rows as image files in a layout graft import reads: folder (one sub-folder per class),",
        "list (images/ and list.csv) or table (Parquet of path, content, label)."})
final class ExportImagesCommand implements Callable<Integer> {
  @Option(names = "--data", required = true, paramLabel = "URI", description = "The Graft dataset to export ([C, H, W] features).")
  String data;

  @Option(names = "--out", required = true, paramLabel = "URI", description = "The folder to write (replaced atomically).")
  String out;

  @Option(names = "--layout", defaultValue = "folder", description = "folder (default), list or table.")
  String layout;

  @Option(names = "--encoding", defaultValue = "png", paramLabel = "ENC",
      description = "png (default), png-rgb, png-16, gif, bmp, jpeg, jpeg-progressive, jpeg-exif-rotated, or mixed (cycles through all; "
          + "every fifth image 4 pixels larger).")
  String encoding;

  @Option(names = "--limit", defaultValue = "0", description = "Rows exported (default: all).")
  long limit;

  @Option(names = "--corrupt", defaultValue = "0", paramLabel = "N", description = "Also write N truncated PNG files (bad records).")
  int corrupt;

  @Option(names = "--colour", description = "Tint each grey image with a random colour (seeded per row): 3-channel images.")
  boolean colour;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of the colours (default: ${DEFAULT-VALUE}).")
  long seed;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    ImageExportJob.Layout l;
    try {
      l = ImageExportJob.Layout.valueOf(layout.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("--layout must be folder, list or table, cannot be: " + layout);
    }
    Encoding enc = null;
    if (!encoding.equalsIgnoreCase("mixed")) {
      try {
        enc = Encoding.parse(encoding);
      } catch (IllegalArgumentException e) {
        throw new ConfigException("--encoding must be png, png-rgb, png-16, gif, bmp, jpeg, jpeg-progressive, jpeg-exif-rotated or mixed, cannot be: "
            + encoding);
      }
    }
    ImageExportJob.run(new ImageExportJob.Spec(data, out, l, enc, limit, corrupt, colour, seed), spark.session("graft export-images"),
        line -> System.out.println("[export-images] " + line));
    return GraftCli.EXIT_OK;
  }
}
