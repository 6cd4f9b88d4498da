import Type from 'typebox';
import { SuccessSchema } from './envelope.js';
import { ObjectIdSchema } from './ids.js';

export const AuctionSchema = Type.Object({
  id: ObjectIdSchema,
  title: Type.String(),
  ownerId: Type.String(),
  enableViewerAnalytics: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});
export type Auction = Type.Static<typeof AuctionSchema>;
export const AuctionResponseSchema = SuccessSchema(AuctionSchema);

export const CreateAuctionBodySchema = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 200 }),
    ownerId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'Only an admin may name an owner other than itself' }),
    ),
  },
  { additionalProperties: false },
);
export type CreateAuctionBody = Type.Static<typeof CreateAuctionBodySchema>;

export const AuctionSettingsSchema = Type.Object(
  { enableViewerAnalytics: Type.Boolean({ description: 'Store viewer snapshots for this auction' }) },
  { additionalProperties: false },
);
export type AuctionSettings = Type.Static<typeof AuctionSettingsSchema>;
export const AuctionSettingsResponseSchema = SuccessSchema(AuctionSettingsSchema);

/**
 * What the socket server learns before it accepts a viewer: that the auction exists. Whether its
 * snapshots are stored is decided by the backend alone, when they arrive.
 */
export const AuctionLookupSchema = Type.Object({ id: ObjectIdSchema });
export type AuctionLookup = Type.Static<typeof AuctionLookupSchema>;
export const AuctionLookupResponseSchema = SuccessSchema(AuctionLookupSchema);
